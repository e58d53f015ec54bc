"""Run inside the curator venv: N prompts through bespokelabs-curator against URL; prints {"seconds", "ok"}.

Offline settings: TIKTOKEN_CACHE_DIR at the tokenizer files litellm ships, litellm's local model-cost map, no
curator cache, no rich display. Concurrency through backend_params["max_concurrent_requests"]; the per-minute
limits raised far above the run (curator budgets 4,096 output tokens per request against them otherwise).
"""

import json
import os
import sys
import time
from pathlib import Path

import litellm

os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(Path(litellm.__file__).parent / "litellm_core_utils" / "tokenizers"))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("CURATOR_DISABLE_CACHE", "true")
os.environ.setdefault("CURATOR_DISABLE_RICH_DISPLAY", "1")

from bespokelabs import curator

url, n, in_flight = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
llm = curator.LLM(
    model_name="fake-model",
    backend="openai",
    generation_params={"max_tokens": 16},
    backend_params={
        "base_url": url,
        "api_key": "x",
        "max_concurrent_requests": in_flight,
        "max_requests_per_minute": 10_000_000,
        "max_tokens_per_minute": 10_000_000_000,
        "max_retries": 0,
        "require_all_responses": False,
    },
)
prompts = [f"req curator {i}" for i in range(n)]
t0 = time.perf_counter()
out = llm(prompts)
seconds = time.perf_counter() - t0
rows = out.dataset if hasattr(out, "dataset") else out
print(json.dumps({"seconds": seconds, "ok": len(rows)}))
