"""A progress bar for teacher work with ETA and live in-flight / throughput / cache numbers."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from tether.llm.client import TeacherClient


@contextlib.contextmanager
def teacher_progress(
    client: TeacherClient, total: int, label: str, console: Console | None = None
) -> Iterator[Callable[[Any], None]]:
    """Yields an `on_done` callback for `TeacherClient.map`."""
    t0 = time.monotonic()
    with Progress(
        TextColumn(f"[bold]{label}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[live]}"),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task(label, total=total, live="")

        def on_done(_: Any) -> None:
            s = client.stats
            rate = s.requests / max(1e-9, time.monotonic() - t0)
            errs = sum(s.errors.values())
            live = (
                f"in-flight {client.limit.in_flight}/{int(client.limit.limit)} · {rate:.1f} req/s · "
                f"cache {s.cache_hits} · errors {errs}"
            )
            bar.update(task, advance=1, live=live)

        yield on_done
