"""Run inside the distilabel venv: N prompts through a distilabel TextGeneration pipeline against URL.

distilabel sends an `input_batch_size` batch, waits for all of it, then sends the next: in-flight requests are
at most the batch size, set here to the in-flight number the other contenders get.
"""

import json
import sys
import time

from distilabel.models import OpenAILLM
from distilabel.pipeline import Pipeline
from distilabel.steps import LoadDataFromDicts
from distilabel.steps.tasks import TextGeneration

url, n, in_flight = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with Pipeline(name="bench") as pipe:
    load = LoadDataFromDicts(data=[{"instruction": f"req distilabel {i}"} for i in range(n)], batch_size=in_flight)
    gen = TextGeneration(
        llm=OpenAILLM(
            model="fake-model", base_url=url, api_key="x", max_retries=0, generation_kwargs={"max_new_tokens": 16}
        ),
        input_batch_size=in_flight,
    )
    load >> gen
t0 = time.perf_counter()
ds = pipe.run(use_cache=False)
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "ok": len(ds["default"]["train"])}))
