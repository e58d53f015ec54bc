"""tether's embedded server (`tether.llm.llama_serve`) against `python -m llama_cpp.server`: same requests, same
replies, seconds per call.

llama_cpp.server creates its model with `logits_all=True` (llama-cpp-python reads logprobs from the logits of every
position), so every call copies the logits of every prompt token, and a call with `top_logprobs` log-softmaxes them
all and sorts the vocabulary in Python per generated token. The judge's expected score asks logprobs on every call.
This sends the same requests to both servers, one after the other on the same model: the judge's score-only calls
with `top_logprobs` (the rows of a label file, as `filters.judge` sends them) and the same prompts as plain sampled
calls with a seed, and reports seconds per call and whether the replies and the score token's alternatives agree.

Run: `python bench/embedded_server.py [--model qwen2.5-coder-1.5b] [--n 12]` (about 4 minutes on 2 cores with the
1.5B). Needs llama-cpp-python[server] (scripts/install_llama.py) and the model's part packages.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from question_truth import context, load  # noqa: E402

from tether.config import EmbeddedConfig  # noqa: E402
from tether.filters.judged import SCORE_TOKENS, TOP_LOGPROBS, JudgeScore, LLMJudge  # noqa: E402
from tether.llm import structured  # noqa: E402
from tether.llm.embedded import EmbeddedServer, bundled_model, free_port  # noqa: E402
from tether.llm.process import ServerProcess  # noqa: E402

LABELS = ROOT / "bench" / "labels" / "brindlemoor-kept-qwen15b-budget40-c715058.jsonl"


def requests(n: int) -> list[dict]:
    """n judge calls with logprobs, then the same prompts sampled (temperature 0.7, a seed each) without."""
    rows, _, chunks = load(LABELS)
    with tempfile.TemporaryDirectory() as tmp:
        ctx = context(ROOT / "examples" / "brindlemoor", chunks, Path(tmp))
        judge = LLMJudge(None, ctx.templates["judge"], ctx.domain, ctx.chunks)  # type: ignore[arg-type]
        schema = structured.schema_of(JudgeScore)
        msgs = [structured.with_instruction(judge._messages(r), schema) for r in rows[:n]]
    fmt = {"type": "json_object", "schema": schema}
    out = [
        {"messages": m, "temperature": 0.0, "max_tokens": SCORE_TOKENS, "logprobs": True,
         "top_logprobs": TOP_LOGPROBS, "response_format": fmt}
        for m in msgs
    ]  # fmt: skip
    out += [{"messages": m, "temperature": 0.7, "seed": 11 + i, "max_tokens": 40} for i, m in enumerate(msgs)]
    return out


def post(base_url: str, model: str, body: dict) -> dict:
    req = urllib.request.Request(
        f"{base_url}/chat/completions",
        data=json.dumps({"model": model, **body}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.loads(r.read())


def run(server: ServerProcess, bodies: list[dict]) -> tuple[list[dict], list[float]]:
    replies, seconds = [], []
    with server:
        for body in bodies:
            t = time.perf_counter()
            replies.append(post(server.base_url, server.model, body))
            seconds.append(time.perf_counter() - t)
    return replies, seconds


def digits(reply: dict) -> dict[str, float]:
    """The score token's alternatives among the digits 1-5."""
    for item in (reply["choices"][0].get("logprobs") or {}).get("content") or []:
        if item["token"].strip() in "12345" and item["token"].strip():
            return {a["token"]: a["logprob"] for a in item["top_logprobs"] if a["token"].strip() in list("12345")}
    return {}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="qwen2.5-coder-1.5b")
    ap.add_argument("--n", type=int, default=12, help="label rows (each a judge call and a sampled call)")
    a = ap.parse_args()
    cfg = EmbeddedConfig(model=a.model)
    bodies = requests(a.n)
    path = bundled_model(a.model)
    threads = str(os.cpu_count() or 1)
    port = free_port()
    baseline = ServerProcess(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--model_alias", "m", "--port", str(port),
         "--n_ctx", str(cfg.n_ctx), "--n_threads", threads, "--n_threads_batch", threads],
        f"http://127.0.0.1:{port}/v1", "m", Path(tempfile.gettempdir()) / "bench-llama-server.log", 300,
    )  # fmt: skip
    old, old_s = run(baseline, bodies)
    new, new_s = run(EmbeddedServer(cfg, "m"), bodies)
    n = a.n
    for name, sl in (("judge, top_logprobs 10", slice(0, n)), ("sampled, no logprobs", slice(n, 2 * n))):
        same = sum(
            o["choices"][0]["message"]["content"] == w["choices"][0]["message"]["content"]
            for o, w in zip(old[sl], new[sl], strict=True)
        )
        o_s, n_s = sum(old_s[sl]) / n, sum(new_s[sl]) / n
        print(
            f"{name:<24} llama_cpp.server {o_s:5.2f} s/call   tether {n_s:5.2f} s/call   ({o_s / n_s:.2f}x)   "
            f"same reply {same}/{n}"
        )
    gaps = []
    for o, w in zip(old[:n], new[:n], strict=True):
        do, dn = digits(o), digits(w)
        gaps += [abs(do[k] - dn[k]) for k in do.keys() & dn.keys()]
        if do.keys() != dn.keys():
            print(f"  score alternatives differ: {sorted(do)} vs {sorted(dn)}")
    print(f"score-token digit logprobs: {len(gaps)} compared, largest difference {max(gaps, default=0):.4f}")


if __name__ == "__main__":
    main()
