"""`tether report`: the workspace as one self-contained HTML page (funnel, provenance, coverage, diversity, budget,
teacher and judge, students)."""

from __future__ import annotations

from pathlib import Path

from tether.report.collect import collect
from tether.report.html import render


def write_report(ws, version: str = "head", out: Path | None = None) -> Path:
    """Collect, render and write the report; returns its path (default `.tether/reports/report-<version>.html`)."""
    data = collect(ws, version)
    path = out or ws.store / "reports" / f"report-{data['version'][:16]}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(data), encoding="utf-8")
    return path
