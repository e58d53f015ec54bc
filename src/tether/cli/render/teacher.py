"""The teacher on the terminal: a progress bar for teacher work with ETA and live in-flight / throughput / cache
numbers, the end-of-run accounting, and `teacher check`'s report."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from tether.cli.render.console import console
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


def usage_summary(usage: dict) -> None:
    """The end-of-run teacher accounting line(s): what the run cost and what went wrong, by kind."""
    line = (
        f"teacher: {usage['requests']} requests, {usage['calls']} calls sent, {usage['cache_hits']} cache hits, "
        f"{usage['retries']} retries, {usage['prompt_tokens']:,} prompt + {usage['completion_tokens']:,} "
        f"completion tokens"
    )
    if usage.get("cost"):
        line += f", cost {usage['cost']:.4f}"
    if usage.get("busy_fraction") is not None:
        line += f", teacher busy {usage['busy_fraction']:.0%}"
    console.print(line)
    if usage.get("errors"):
        console.print("[yellow]errors by kind[/]: " + ", ".join(f"{k} {v}" for k, v in usage["errors"].items()))


def teacher_check_report(client, comp) -> None:  # client: TeacherClient, comp: Completion
    ident = client.identity
    t = Table(title="Teacher", show_header=False)
    for k, v in [
        ("endpoint", client.base_url),
        ("model", ident.model),
        ("digest", ident.digest or "-"),
        ("quant", ident.quant or "-"),
        ("runtime", ident.version or "-"),
        ("structured output", f"{client.cfg.structured} (now {client.mode})"),
    ]:
        t.add_row(k, str(v))
    console.print(t)
    if comp.error:
        console.print(f"[red]answer failed[/]: {comp.error} {comp.error_detail or ''}")
    tps = comp.completion_tokens / comp.latency_s if comp.latency_s else 0
    console.print(
        f"[bold]answer[/] ({comp.finish_reason}, {comp.completion_tokens} tokens"
        + (", cached)" if comp.cached else f", {comp.latency_s:.2f}s, {tps:.0f} tok/s)")
        + f": {comp.text}"
    )
    usage_summary(client.stats.as_dict())
    if ident.endpoint == "embedded":
        console.print(
            "[yellow]The embedded teacher is a small offline model (0.1-1.5B): it restates and asks about its "
            "documents' sentences, and cannot judge. Point teacher.base_url at a real endpoint for real work.[/]"
        )
