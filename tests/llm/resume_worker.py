"""Subprocess for the resume test: N teacher calls through the cached client, rows written at the end."""

import asyncio
import json
import sys
from pathlib import Path

from tether.config import TeacherConfig
from tether.llm.cache import RequestCache
from tether.llm.client import TeacherClient
from tether.llm.types import TeacherIdentity


async def main(url: str, cache_path: str, out: str, n: int) -> None:
    cfg = TeacherConfig(base_url=url, model="fake-model", concurrency={"max_in_flight": 4, "adaptive": False})
    async with TeacherClient(cfg, url, TeacherIdentity(model="fake-model"), RequestCache(Path(cache_path))) as c:
        prompts = [f"item {i:03d}" for i in range(n)]
        results = await c.map([lambda p=p: c.chat([{"role": "user", "content": p}]) for p in prompts])
    rows = [{"prompt": p, "text": r.text, "cached": r.cached} for p, r in zip(prompts, results, strict=True)]
    Path(out).write_text("".join(json.dumps(r) + "\n" for r in rows))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
