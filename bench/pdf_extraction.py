"""PDF text extraction: which library to read PDFs with, measured on real manuals (run by hand; prints tables).

    python bench/pdf_extraction.py [PDF ...] [--libs pypdfium2 pypdf pdfminer pdfplumber] [--no-fetch]

Default PDFs: real manuals from Debian packages, none written by this project, from four producers (texinfo,
LaTeX, DocBook, ReportLab) — libtasn1 (libtasn1-doc), the shared-mime-info spec (shared-mime-info), camlidl
(camlidl-doc), the ReportLab user guide (python-reportlab-doc), "An Introduction to R" (r-doc-pdf) and the Why3
manual (why3-doc-pdf); 510 pages in all. Those not under /usr/share/doc are fetched once with `apt-get download`
into ~/.cache/tether-bench/pdf (Debian's own client; --no-fetch skips them).

Reference extraction: poppler's `pdftotext` (apt-get install poppler-utils), an independent, widely used
extractor. For each library, page by page, in this process:
- pages/s: text extraction only (the library's plain text call), wall time over the file, best of one run;
- chars: non-whitespace characters extracted / the reference's;
- words: bag-of-words recall against the reference (share of the reference's words, with their counts, found)
  and precision (share of the library's words the reference also has);
- order: recall of the reference's word bigrams (pairs of consecutive words on a page): reading order;
- furniture: lines the running-header/footer rule (tether.seeds.running_lines, the same for every library)
  removes from the library's page lines: the headers, footers and page numbers it exposes as lines of their own.
The row "tether" is the whole reader (tether.seeds.pdf: PDFium text runs, columns, paragraphs, hyphenation,
headings, headers/footers removed): its words/order fall where it removes running headers and joins words split
by hyphens, which the reference keeps.
"""

from __future__ import annotations

import argparse
import itertools
import re
import shutil
import subprocess
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from tether.seeds.pdf import read_pdf
from tether.seeds.running_lines import find_running_lines

CACHE = Path.home() / ".cache/tether-bench/pdf"
# (file name, where Debian installs it, the package that ships it)
CORPUS = [
    ("libtasn1.pdf", "/usr/share/doc/libtasn1-doc/libtasn1.pdf", "libtasn1-doc"),
    ("shared-mime-info-spec.pdf", "/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf", "shared-mime-info"),
    ("camlidl-1.04.doc.pdf", "/usr/share/doc/camlidl/camlidl-1.04.doc.pdf", "camlidl-doc"),
    (
        "reportlab-userguide.pdf",
        "/usr/share/doc/python-reportlab-doc/reportlab-userguide.pdf",
        "python-reportlab-doc",
    ),
    ("R-intro.pdf", "/usr/share/R/doc/manual/R-intro.pdf", "r-doc-pdf"),
    ("manual.pdf", "/usr/share/doc/why3-doc-pdf/manual.pdf", "why3-doc-pdf"),
]


def locate(fetch: bool) -> list[Path]:
    """The corpus files: installed, cached, or fetched with apt-get download into the cache."""
    found = []
    for name, installed, package in CORPUS:
        cached = CACHE / package / name
        for p in (Path(installed), cached):
            if p.is_file() and p.stat().st_size > 1000:
                found.append(p)
                break
        else:
            if not fetch or not shutil.which("apt-get"):
                print(f"missing {name} (package {package}; run without --no-fetch, or apt-get install {package})")
                continue
            with tempfile.TemporaryDirectory() as tmp:
                got = subprocess.run(["apt-get", "download", package], cwd=tmp, capture_output=True, text=True)
                debs = list(Path(tmp).glob("*.deb"))
                if got.returncode or not debs:
                    print(f"could not fetch {package}: {got.stderr.strip()[:200]}")
                    continue
                subprocess.run(["dpkg-deb", "-x", str(debs[0]), tmp + "/x"], check=True)
                hits = [p for p in Path(tmp, "x").rglob(name) if p.stat().st_size > 1000]
                if not hits:
                    print(f"{package} has no {name}")
                    continue
                cached.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(hits[0], cached)
                found.append(cached)
    return found


def pdftotext_pages(path: Path) -> list[str]:
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True)
    pages = out.stdout.decode("utf-8", "replace").split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def pages_pypdfium2(path: Path) -> list[str]:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path)
    out = []
    for page in pdf:
        tp = page.get_textpage()
        out.append(tp.get_text_range().replace("\r\n", "\n"))
        tp.close()
        page.close()
    pdf.close()
    return out


def pages_pypdf(path: Path) -> list[str]:
    import pypdf

    return [page.extract_text() or "" for page in pypdf.PdfReader(path).pages]


def pages_pdfminer(path: Path) -> list[str]:
    from pdfminer.high_level import extract_text

    pages = extract_text(path).split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def pages_pdfplumber(path: Path) -> list[str]:
    import pdfplumber

    with pdfplumber.open(path) as pdf:
        return [page.extract_text() or "" for page in pdf.pages]


def pages_tether(path: Path) -> list[str]:
    return read_pdf(path.read_bytes(), path.stem).parsed.text.split("\f")


LIBS: dict[str, Callable[[Path], list[str]]] = {
    "pypdfium2": pages_pypdfium2,
    "pypdf": pages_pypdf,
    "pdfminer": pages_pdfminer,
    "pdfplumber": pages_pdfplumber,
    "tether": pages_tether,
}


def words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).replace("\x02", "-").casefold()
    return re.findall(r"\w+", text)


def bigrams(pages: list[str]) -> Counter[tuple[str, str]]:
    out: Counter[tuple[str, str]] = Counter()
    for page in pages:
        w = words(page)
        out.update(itertools.pairwise(w))
    return out


def overlap(got: Counter, ref: Counter) -> int:
    return sum(min(n, got[k]) for k, n in ref.items())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pdfs", nargs="*", type=Path)
    ap.add_argument("--libs", nargs="+", default=list(LIBS), choices=list(LIBS))
    ap.add_argument("--no-fetch", action="store_true")
    a = ap.parse_args()
    if not shutil.which("pdftotext"):
        raise SystemExit("pdftotext (poppler-utils) is the reference extraction: apt-get install poppler-utils")
    files = a.pdfs or locate(not a.no_fetch)
    totals: dict[str, Counter] = {lib: Counter() for lib in a.libs}
    print(
        f"{'file':28} {'pages':>5} {'library':11} {'pages/s':>8} {'chars':>6} {'w.rec':>6} {'w.prec':>6} "
        f"{'order':>6} {'furniture':>9}"
    )
    n_pages = 0
    for path in files:
        ref = pdftotext_pages(path)
        ref_words = Counter(w for p in ref for w in words(p))
        ref_bigrams = bigrams(ref)
        ref_chars = sum(len("".join(p.split())) for p in ref)
        n_pages += len(ref)
        for lib in a.libs:
            t0 = time.perf_counter()
            try:
                pages = LIBS[lib](path)
            except Exception as e:  # a library that fails on a real PDF is a result, not a crash of the bench
                print(f"{path.name[:28]:28} {len(ref):5} {lib:11} failed: {type(e).__name__}: {e}")
                continue
            secs = time.perf_counter() - t0
            got_words = Counter(w for p in pages for w in words(p))
            chars = sum(len("".join(p.split())) for p in pages)
            furniture = sum(len(d) for d in find_running_lines([p.splitlines() for p in pages]).drop)
            row = {
                "secs": secs,
                "pages": len(ref),
                "chars": chars,
                "ref_chars": ref_chars,
                "hit": overlap(got_words, ref_words),
                "ref_words": sum(ref_words.values()),
                "got_words": sum(got_words.values()),
                "bi_hit": overlap(bigrams(pages), ref_bigrams),
                "ref_bi": sum(ref_bigrams.values()),
                "furniture": furniture,
            }
            totals[lib].update(row)
            print(_line(path.name[:28], len(ref), lib, row))
    print(f"\nall {len(files)} PDFs, {n_pages} pages (reference: pdftotext)")
    for lib in a.libs:
        if totals[lib]["pages"]:
            print(_line("TOTAL", totals[lib]["pages"], lib, totals[lib]))


def _line(name: str, pages: int, lib: str, r) -> str:
    return (
        f"{name:28} {pages:5} {lib:11} {r['pages'] / max(r['secs'], 1e-9):8.1f} "
        f"{r['chars'] / max(r['ref_chars'], 1):6.3f} {r['hit'] / max(r['ref_words'], 1):6.3f} "
        f"{r['hit'] / max(r['got_words'], 1):6.3f} {r['bi_hit'] / max(r['ref_bi'], 1):6.3f} {r['furniture']:9}"
    )


if __name__ == "__main__":
    main()
