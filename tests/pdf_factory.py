"""PDFs, Word files and slide decks made for the tests with the real writers (reportlab, python-docx,
python-pptx): layouts a test must control (two columns drawn line by line across both, a scanned page, running
headers, a hyphen at a line end) and the broken files of the error paths.

Body text is set in Courier, whose every character is 0.6 em wide, so a test knows which lines reach the right
margin (wrapped lines) and which end short (a paragraph's last line).
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw
from reportlab.lib import pdfencrypt
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

WIDTH, HEIGHT = 612, 792
LEFT = 72
BODY = 10  # Courier 10 pt: 6 pt per character
COLUMN_CHARS = 70  # a full line of the one-column layout: 420 pt, LEFT..492


def line(c: canvas.Canvas, x: float, y: float, text: str, size: float = BODY, font: str = "Courier") -> None:
    c.setFont(font, size)
    c.drawString(x, y, text)


def paragraph_lines(words: str, width: int = COLUMN_CHARS) -> list[str]:
    """Greedy wrap at `width` characters: every line but the last is close to full."""
    out, cur = [], ""
    for w in words.split():
        if cur and len(cur) + 1 + len(w) > width:
            out.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    out.append(cur)
    return out


def manual_pdf(path: Path, *, outline: bool = False) -> Path:
    """Four pages: a running header and a page-number footer on each, a large heading (font sizes, or bookmarks
    with `outline`), a word hyphenated at a line end on page 1, a paragraph running from page 2 onto page 3
    (split inside the word "maintenance"), and a small table on page 4."""
    c = canvas.Canvas(str(path), pagesize=(WIDTH, HEIGHT))
    c.setTitle("ACME Widget Manual")

    def furniture(n: int) -> None:
        line(c, LEFT, HEIGHT - 40, "ACME Widget Manual - Operating Guide", 9, "Helvetica")
        line(c, WIDTH / 2 - 10, 30, f"- {n} -", 9, "Helvetica")

    # page 1
    furniture(1)
    line(c, LEFT, 700, "1 Installing the widget", 18, "Helvetica-Bold")
    if outline:
        c.bookmarkPage("p1")
        c.addOutlineEntry("1 Installing the widget", "p1", level=0)
    y = 670
    first = "The widget must be mounted on a flat surface before sensor calibra-"  # ends at the margin
    for text in [first, "tion starts. Calibration takes 12 minutes."]:
        line(c, LEFT, y, text)
        y -= 12
    y -= 14
    for text in paragraph_lines("The mounting bracket holds at most 40 kilograms. " * 3):
        line(c, LEFT, y, text)
        y -= 12
    c.showPage()
    # page 2: a heading, then a paragraph whose last line is full and ends inside a word
    furniture(2)
    line(c, LEFT, 700, "2 Maintenance", 18, "Helvetica-Bold")
    if outline:
        c.bookmarkPage("p2")
        c.addOutlineEntry("2 Maintenance", "p2", level=0)
    y = 670
    body = paragraph_lines("Clean the filter every 30 days with warm water and mild soap only. " * 3)
    for text in body:
        line(c, LEFT, y, text)
        y -= 12
    line(c, LEFT, y, "Replace the seal every 2 years; skipping it voids the warranty. Main-")
    c.showPage()
    # page 3: the paragraph goes on
    furniture(3)
    line(c, LEFT, 700, "tenance visits are billed at 85 euros each.")
    line(c, LEFT, 660, "The service hotline answers from 8:00 to 17:00 on weekdays.")
    c.showPage()
    # page 4: a table
    furniture(4)
    line(c, LEFT, 700, "3 Spare parts", 18, "Helvetica-Bold")
    if outline:
        c.bookmarkPage("p4")
        c.addOutlineEntry("3 Spare parts", "p4", level=0)
    for i, (part, price) in enumerate([("Part", "Price"), ("Filter F-20", "12 euros"), ("Seal S-7", "4 euros")]):
        line(c, LEFT, 660 - 14 * i, part)
        line(c, LEFT + 200, 660 - 14 * i, price)
    c.showPage()
    c.save()
    return path


LEFT_TEXT = (
    "Apples grow on trees in temperate climates and are harvested in autumn by hand. Orchards are pruned in "
    "winter so that light reaches every branch and the fruit ripens evenly across the whole tree."
)
RIGHT_TEXT = (
    "Bees pollinate the blossoms in spring and a single hive serves about one acre of orchard. Beekeepers move "
    "their hives at night when the bees are inside and calm, and return them after the bloom."
)


def two_column_pdf(path: Path) -> Path:
    """One page with a full-width title and two columns, drawn line by line across both columns (the stream
    order alternates between them), so only the geometry gives the reading order."""
    c = canvas.Canvas(str(path), pagesize=(WIDTH, HEIGHT))
    line(c, LEFT, 730, "Orchard Notes: Apples and Bees", 16, "Helvetica-Bold")
    left = paragraph_lines(LEFT_TEXT, 36)
    right = paragraph_lines(RIGHT_TEXT, 36)
    y = 690
    for i in range(max(len(left), len(right))):
        if i < len(left):
            line(c, LEFT, y, left[i])
        if i < len(right):
            line(c, 330, y, right[i])
        y -= 12
    c.showPage()
    c.save()
    return path


def scanned_page(c: canvas.Canvas) -> None:
    """A page that is one image of text and no text layer, as a scanner makes it."""
    img = Image.new("RGB", (850, 1100), "white")
    ImageDraw.Draw(img).text((100, 100), "This page was scanned and has no text layer.", fill="black")
    c.drawImage(ImageReader(img), 0, 0, WIDTH, HEIGHT)
    c.showPage()


def scanned_pdf(path: Path, text_pages: int = 0) -> Path:
    """`text_pages` pages of text, then one scanned page, then one more page of text (when text_pages > 0)."""
    c = canvas.Canvas(str(path), pagesize=(WIDTH, HEIGHT))
    for i in range(text_pages):
        line(c, LEFT, 700, f"Page {i + 1} of the report states that the budget is {100 + i} euros.")
        c.showPage()
    scanned_page(c)
    if text_pages:
        line(c, LEFT, 700, "The last page says the report was approved on 3 March.")
        c.showPage()
    c.save()
    return path


def blank_pdf(path: Path) -> Path:
    c = canvas.Canvas(str(path), pagesize=(WIDTH, HEIGHT))
    c.showPage()
    c.save()
    return path


def encrypted_pdf(path: Path) -> Path:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, encrypt=pdfencrypt.StandardEncryption("secret", strength=128))
    line(c, LEFT, 700, "Only readers with the password see this sentence.")
    c.showPage()
    c.save()
    path.write_bytes(buf.getvalue())
    return path
