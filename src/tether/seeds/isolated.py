"""Read binary documents (PDF, Word, PowerPoint) in a child process, with a time limit per file.

Why a child process: these readers parse untrusted binary formats in native code (PDFium) or over zip archives
and XML (python-docx, python-pptx). A malformed file can loop for minutes or crash the interpreter, and neither a
signal nor a thread can stop C code in the middle of a call. In a child process a file that takes longer than
`ingest.file_timeout_s` is stopped by killing the child, a crash ends only the child, and either becomes the
one-line reason its file was skipped; the ingest goes on with the next file in a fresh child. One child serves
all files of an ingest, so its start (about half a second) is paid once.
"""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import traceback
from dataclasses import dataclass, field
from typing import IO

from tether.seeds.readers import Parsed

log = logging.getLogger(__name__)

BINARY_FORMATS = ("pdf", "docx", "pptx")


@dataclass
class BinaryRead:
    parsed: Parsed | None
    skip: str | None = None  # why the file yields no document: one line, as for any skipped file
    pages: int = 0  # PDF pages or slides; 0 for Word documents
    scanned: list[int] = field(default_factory=list)  # 1-based PDF pages that are images without a text layer
    furniture_lines: int = 0  # running headers, footers, page numbers, table-of-contents lines removed
    furniture_chars: int = 0
    headings_from: str = ""
    running: dict[str, int] = field(default_factory=dict)  # header/footer line -> pages it was removed from


def read_binary(data: bytes, fmt: str, fallback_title: str) -> BinaryRead:
    """Read one file in this process; a file the reader rejects becomes a BinaryRead with its reason."""
    if fmt == "pdf":
        from tether.seeds.pdf import PdfUnreadable, read_pdf

        try:
            got = read_pdf(data, fallback_title)
        except PdfUnreadable as e:
            return BinaryRead(None, str(e))
        return BinaryRead(
            got.parsed,
            None,
            got.pages,
            got.scanned,
            got.furniture_lines,
            got.furniture_chars,
            got.headings_from,
            got.running,
        )
    from tether.seeds.office import OfficeUnreadable, read_docx, read_pptx

    try:
        if fmt == "docx":
            return BinaryRead(read_docx(data, fallback_title), headings_from="styles")
        parsed = read_pptx(data, fallback_title)
        return BinaryRead(parsed, pages=parsed.text.count("\f") + 1, headings_from="slide titles")
    except OfficeUnreadable as e:
        return BinaryRead(None, str(e))


def _serve() -> None:
    """The child's loop (python -m tether.seeds.isolated): read pickled (data, fmt, title) jobs from stdin and
    answer each with a pickled BinaryRead on the original stdout, until stdin closes. Anything the readers or
    PDFium print goes to stderr, so it cannot corrupt the answers."""
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    jobs = sys.stdin.buffer
    while True:
        try:
            data, fmt, title = pickle.load(jobs)
        except EOFError:
            return
        try:
            result = read_binary(data, fmt, title)
        except Exception as e:  # a reader bug or a file no check foresaw: the file's reason, not a traceback
            traceback.print_exc()
            result = BinaryRead(None, f"cannot be read ({type(e).__name__}: {str(e).splitlines()[0][:200]})")
        pickle.dump(result, answers)
        answers.flush()


class IsolatedReader:
    """Reads files one at a time in a child process that is restarted after a timeout or a crash."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None

    def _start(self) -> subprocess.Popen[bytes]:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (open while the child lives; closed in _stop)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tether.seeds.isolated"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
        )
        return self._proc

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
            proc.wait(5)
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    try:
                        pipe.close()  # a dead child's stdin still holds the unsent file: flushing it fails
                    except OSError as e:
                        log.debug("document reader pipe: %s", e)
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def _last_error(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        lines = [ln for ln in self._stderr.read().decode("utf-8", "replace").splitlines() if ln.strip()]
        return lines[-1][:200] if lines else ""

    def read(self, data: bytes, fmt: str, fallback_title: str) -> BinaryRead:
        proc = self._proc or self._start()
        assert proc.stdin is not None and proc.stdout is not None
        box: list[BinaryRead | BaseException] = []
        waiter = threading.Thread(target=_receive, args=(proc.stdout, box), daemon=True)
        try:
            pickle.dump((data, fmt, fallback_title), proc.stdin)
            proc.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            box.append(e)
        else:
            waiter.start()
            waiter.join(self.timeout_s)
            if waiter.is_alive():
                log.warning("document reader stopped after %.0f s", self.timeout_s)
                self._stop()
                return BinaryRead(
                    None,
                    f"took longer than ingest.file_timeout_s={self.timeout_s:g} s to read: stopped "
                    "(a very large or malformed file; raise the limit to read it)",
                )
        if box and isinstance(box[0], BinaryRead):
            return box[0]
        proc.poll()
        code, why = proc.returncode, self._last_error()
        log.warning("document reader ended on a file (exit code %s): %s", code, why or box)
        self._stop()
        return BinaryRead(
            None, f"the document reader crashed on this file (exit code {code}{': ' + why if why else ''})"
        )

    def close(self) -> None:
        if self._proc is not None and self._proc.stdin is not None:
            try:
                self._proc.stdin.close()  # the child's loop ends at end of input
                self._proc.wait(5)
            except (BrokenPipeError, OSError, subprocess.TimeoutExpired) as e:
                log.debug("document reader did not end by itself: %s", e)
        self._stop()

    def __enter__(self) -> IsolatedReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _receive(stream: IO[bytes], box: list) -> None:
    try:
        box.append(pickle.load(stream))
    except Exception as e:  # the child died or answered garbage: read() reports it with the child's last words
        box.append(e)


if __name__ == "__main__":
    # run the module's own copy, so the answers pickle as tether.seeds.isolated.BinaryRead, not __main__'s
    from tether.seeds.isolated import _serve as serve

    serve()
