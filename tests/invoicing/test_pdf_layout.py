"""The PDF's lines: large amounts stay inside their columns and the page, in the table and in
the listing of a long document; a long document lists every line after a summary page."""

import datetime as dt
import itertools
import re
import subprocess
from decimal import Decimal
from html import unescape

import pytest

from accounts.models import Account
from invoicing.models import BillingDocument, DocumentLine
from invoicing.pdf import LISTING_FROM_LINES, render_document_pdf
from tests.invoicing.test_pdf import needs_pdftotext, pdf_text

# A4 is 595.28 pt wide; the margins are 16 mm (45.35 pt) a side.
RIGHT_EDGE = 595.28 - 45.35
WORD = re.compile(
    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">(.*?)</word>'
)


def words(pdf: bytes) -> list[tuple[float, float, float, str]]:
    """(xMin, yMin, xMax, text) of every word, from `pdftotext -bbox` (page by page)."""
    html = subprocess.run(
        ["pdftotext", "-bbox", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    found = []
    for page, body in enumerate(html.split("<page ")[1:]):
        for x_min, y_min, x_max, text in WORD.findall(body):
            found.append((float(x_min), page * 10_000 + float(y_min), float(x_max), unescape(text)))
    return found


def document(lines: int, *, amount: Decimal, unit_price: Decimal, quantity: Decimal):
    """An unsaved document (nothing is read from the database to render it)."""
    account = Account(number="A00000001", name="Big Spender", currency="USD")
    doc = BillingDocument(
        kind=BillingDocument.Kind.INVOICE,
        number="INV00000001",
        account=account,
        currency="USD",
        document_date=dt.date(2026, 11, 1),
        due_date=dt.date(2026, 12, 1),
        amount=amount,
        # Posted: no watermark lying across the lines.
        status=BillingDocument.Status.POSTED,
    )
    rows = [
        DocumentLine(
            id=n + 1,
            description=f"Enterprise platform, line {n + 1}",
            charge_type="Recurring",
            service_start=dt.date(2026, 10, 1),
            service_end=dt.date(2026, 10, 31),
            quantity=quantity,
            unit_price=unit_price,
            amount=amount,
        )
        for n in range(lines)
    ]
    return doc, rows


def assert_inside_and_apart(found):
    spill = [(text, x_max) for _, _, x_max, text in found if x_max > RIGHT_EDGE + 0.5]
    assert spill == []
    by_line: dict[float, list] = {}
    for x_min, y, x_max, text in found:
        by_line.setdefault(round(y), []).append((x_min, x_max, text))
    for line in by_line.values():
        line.sort()
        overlaps = [(a[2], b[2]) for a, b in itertools.pairwise(line) if b[0] < a[1] - 0.5]
        assert overlaps == []


@needs_pdftotext
@pytest.mark.parametrize("lines", [2, LISTING_FROM_LINES + 1], ids=["table", "listing"])
def test_the_largest_amounts_stay_inside_their_columns_and_the_page(lines):
    doc, rows = document(
        lines,
        amount=Decimal("999999999999999.99"),
        unit_price=Decimal("99999999999999.999999"),
        quantity=Decimal("99999999999999.999999"),
    )
    pdf = render_document_pdf(doc, lines=rows)
    text = pdf_text(pdf)
    assert "$999,999,999,999,999.99" in text
    assert "$99,999,999,999,999.999999" in text
    assert "99,999,999,999,999.999999" in text
    assert_inside_and_apart(words(pdf))


@needs_pdftotext
def test_ordinary_amounts_keep_the_full_size_table():
    doc, rows = document(
        3, amount=Decimal("1234.50"), unit_price=Decimal("1234.50"), quantity=Decimal(1)
    )
    pdf = render_document_pdf(doc, lines=rows)
    assert "$1,234.50" in pdf_text(pdf)
    assert_inside_and_apart(words(pdf))


@needs_pdftotext
def test_a_long_document_lists_every_line_after_a_summary_page():
    count = LISTING_FROM_LINES + 1
    doc, rows = document(
        count, amount=Decimal("12.50"), unit_price=Decimal("12.50"), quantity=Decimal(1)
    )
    doc.amount = Decimal("12.50") * count
    credited = DocumentLine(id=999_999, document=BillingDocument(number="INV00000007"))
    rows[-1].credits = credited  # the last line credits a line of an earlier invoice
    text = pdf_text(render_document_pdf(doc, lines=rows))
    summary, *pages = text.split("\f")
    assert f"The {count} lines of this invoice are listed from page 2." in summary
    assert "Total due" in summary and "$6,262.50" in summary
    listed = "".join(pages)
    for n in (1, 250, count):
        assert re.search(rf"Enterprise platform, line {n}\b", listed), n
    assert listed.count("2026-10-01 – 2026-10-31") == count
    assert "credits INV00000007" in listed
    # The column header repeats on every page of the listing.
    assert all("Service period" in page for page in pages if page.strip())
