"""Open the configured teacher: start the embedded server if needed, check the endpoint, wire the cache."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from tether.config import TeacherConfig
from tether.llm.cache import RequestCache
from tether.llm.client import TeacherClient, TeacherError
from tether.llm.embedded import EmbeddedServer
from tether.llm.types import TeacherIdentity


@contextlib.asynccontextmanager
async def open_teacher(cfg: TeacherConfig, cache_path: Path | None) -> AsyncIterator[TeacherClient]:
    """Yield a checked, ready client. The embedded server (if any) and the cache are closed on exit, Ctrl-C
    included.

    A stage built on nothing fails: when every request the block made ended without an answer from the model,
    leaving the block raises `TeacherError`, so the caller commits nothing and the command exits non-zero."""
    with contextlib.ExitStack() as stack:
        server = None
        if cfg.embedded_mode:
            server = stack.enter_context(EmbeddedServer(cfg.embedded, cfg.model))
            base_url, identity = server.base_url, server.identity()
            limits = cfg.concurrency.model_copy(update={"max_in_flight": cfg.embedded.in_flight, "adaptive": False})
            cfg = cfg.model_copy(update={"concurrency": limits})
        else:
            assert cfg.base_url is not None
            base_url = cfg.base_url.rstrip("/")
            identity = TeacherIdentity(model=cfg.model, digest=cfg.revision, endpoint=base_url)
        cache = RequestCache(cache_path) if cache_path is not None else None
        if cache is not None:
            stack.callback(cache.close)
        async with TeacherClient(cfg, base_url, identity, cache) as client:
            if server is not None:
                client.liveness = server.death
            await client.check()
            yield client
            if why := client.stats.nothing_answered():
                raise TeacherError(f"{why} at {base_url}: nothing was kept from them (`tether teacher check`)")


@contextlib.contextmanager
def teacher_endpoint(cfg: TeacherConfig) -> Iterator[tuple[str, TeacherIdentity]]:
    """(base_url, identity) of the teacher without a client: the embedded server started for the duration (other
    processes, e.g. Ray actors on this node, talk to it over loopback), or the configured endpoint."""
    with contextlib.ExitStack() as stack:
        if cfg.embedded_mode:
            server = stack.enter_context(EmbeddedServer(cfg.embedded, cfg.model))
            yield server.base_url, server.identity()
        else:
            assert cfg.base_url is not None
            base_url = cfg.base_url.rstrip("/")
            yield base_url, TeacherIdentity(model=cfg.model, digest=cfg.revision, endpoint=base_url)


async def check_teacher(cfg: TeacherConfig, cache_path: Path | None, prompt: str) -> tuple[TeacherClient, object]:
    """Start/reach the teacher, send one prompt; returns (client, completion) for display."""
    async with open_teacher(cfg, cache_path) as client:
        comp = await client.chat([{"role": "user", "content": prompt}], tag="teacher-check")
        client.finish_stats()
        return client, comp


def planned_identity_of(t: TeacherConfig) -> TeacherIdentity:
    """The teacher's identity without starting it or calling it (the forecast's measured speed, the judge's
    calibration key)."""
    if t.embedded_mode:
        return EmbeddedServer(t.embedded, t.model).identity()
    return TeacherIdentity(model=t.model, digest=t.revision, endpoint=t.base_url or "")
