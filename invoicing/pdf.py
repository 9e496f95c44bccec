"""A billing document as PDF (WeasyPrint), for download and for the emails after posting.

Two layouts for the lines (docs/decisions.md, "Big PDFs"): up to `LISTING_FROM_LINES` lines a
table, above it a compact listing in a monospaced font after a summary page. WeasyPrint lays
out every table cell as a box of its own, about a millisecond each, so a 10,000-line table
took 73 s; the listing is one text line per document line and takes a tenth of that. In both,
the number columns are as wide as their longest value, so large amounts never overflow.
"""

import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils.html import escape

from core.templatetags.money import money, quantity, unit_price
from invoicing.models import BillingDocument, DocumentLine
from invoicing.selectors import document_lines

TEMPLATE = "invoicing/document_pdf.html"
# Documents with more lines print them as a listing (the table would take minutes).
LISTING_FROM_LINES = 500
# A4 less the 16 mm side margins, in points.
CONTENT_WIDTH_PT = 595.28 - 2 * 16 * 72 / 25.4
# The table: 9 pt DejaVu Sans, whose digits are 0.636 em wide (5.7 pt); 2 mm padding a side.
TABLE_CHAR_PT = 5.9
TABLE_PADDING_PT = 4 * 72 / 25.4
TABLE_PERIOD_PT = 126.0
MIN_DESCRIPTION_PT = 120.0
# The listing: DejaVu Sans Mono, every character 0.602 em wide.
LISTING_FONT_PT = 7.5
MONO_EM = 0.602
MIN_DESCRIPTION_CHARS = 24
GAP = "  "
HEADERS = ("Description", "Service period", "Quantity", "Unit price", "Amount")


@dataclass(frozen=True)
class Row:
    """One line as printed: every value already formatted."""

    description: str
    credits: str  # "credits INV…" for a credit line, else ""
    period: str
    quantity: str
    unit_price: str
    amount: str


def line_rows(lines: Iterable[DocumentLine], currency: str) -> list[Row]:
    # Quantities and prices repeat from line to line; babel's formatting is the slow part.
    as_money = cache(lambda value: money(value, currency))
    as_unit_price = cache(lambda value: unit_price(value, currency))
    as_quantity = cache(quantity)
    return [
        Row(
            description=line.description,
            credits=(
                f"credits {line.credits.document.number or 'an unnumbered document'}"
                if line.credits_id
                else ""
            ),
            period=f"{line.service_start:%Y-%m-%d} – {line.service_end:%Y-%m-%d}",
            quantity=as_quantity(line.quantity),
            unit_price=as_unit_price(line.unit_price),
            amount=as_money(line.amount),
        )
        for line in lines
    ]


def _widest(rows: list[Row], *extra: str) -> tuple[int, int, int]:
    """The longest quantity, unit price and amount, in characters (`extra`: the total)."""
    widest = [len(header) for header in HEADERS[2:]]
    for row in rows:
        widest = [
            max(widest[0], len(row.quantity)),
            max(widest[1], len(row.unit_price)),
            max(widest[2], len(row.amount)),
        ]
    widest[2] = max([widest[2], *map(len, extra)])
    return widest[0], widest[1], widest[2]


def table_layout(rows: list[Row], total: str) -> dict:
    """Column widths (pt) that fit the longest values, and the table's font scale: when the
    numbers alone leave the description less than MIN_DESCRIPTION_PT, the table's type shrinks
    until they fit, rather than the numbers spilling out of their columns."""
    chars = _widest(rows, total)
    needed = TABLE_PERIOD_PT + sum(n * TABLE_CHAR_PT + TABLE_PADDING_PT for n in chars)
    room = CONTENT_WIDTH_PT - MIN_DESCRIPTION_PT
    scale = min(1.0, room / needed)
    numbers = [round((n * TABLE_CHAR_PT + TABLE_PADDING_PT) * scale, 1) for n in chars]
    period = round(TABLE_PERIOD_PT * scale, 1)
    return {
        "font_pt": round(9 * scale, 2),
        "widths": [round(CONTENT_WIDTH_PT - period - sum(numbers), 1), period, *numbers],
    }


def listing(rows: list[Row]) -> dict:
    """The compact listing: a header and the lines as preformatted text in fixed columns.

    The number columns take their longest value's width, the description the rest (wrapped
    onto continuation lines); when the numbers leave it fewer than MIN_DESCRIPTION_CHARS, the
    font shrinks so that a line still fits the page."""
    widths = [max(len(HEADERS[1]), *(len(row.period) for row in rows)), *_widest(rows)]
    fixed = sum(widths) + len(GAP) * len(widths)
    chars = int(CONTENT_WIDTH_PT / (LISTING_FONT_PT * MONO_EM))
    font = LISTING_FONT_PT
    if chars - fixed < MIN_DESCRIPTION_CHARS:
        chars = fixed + MIN_DESCRIPTION_CHARS
        font = round(CONTENT_WIDTH_PT / (chars * MONO_EM), 2) - 0.01
    description = chars - fixed

    def line(first: str, rest: Iterable[str], aligns: str) -> str:
        cells = [first.ljust(description)]
        for value, width, align in zip(rest, widths, aligns, strict=True):
            cells.append(value.ljust(width) if align == "<" else value.rjust(width))
        return GAP.join(cells).rstrip()

    aligns = "<>>>"
    text = []
    for row in rows:
        wrapped = textwrap.wrap(row.description, description) or [""]
        if row.credits:
            wrapped += textwrap.wrap(row.credits, description - 2, initial_indent="  ")
        numbers = (row.period, row.quantity, row.unit_price, row.amount)
        text.append(
            "\n".join([line(wrapped[0], numbers, aligns), *(part.rstrip() for part in wrapped[1:])])
        )
    return {
        "font_pt": font,
        "header": line(HEADERS[0], HEADERS[1:], aligns),
        # Escaped here: the template prints whole blocks of text, not one row at a time.
        "blocks": [escape("\n".join(text[i : i + 5])) for i in range(0, len(text), 5)],
    }


def render_document_html(
    document: BillingDocument, *, lines: Iterable[DocumentLine] | None = None
) -> str:
    if lines is None:
        lines = document_lines(document_ids=[document.pk])
    rows = line_rows(lines, document.currency)
    total = money(document.amount, document.currency)
    context = {
        "document": document,
        "account": document.account,
        "rows": rows,
        "line_count": f"{len(rows):,}",
        "issuer_name": getattr(settings, "BILLCYCLE_ISSUER_NAME", "Billcycle"),
        "is_credit_memo": document.is_credit_memo,
        "title": "Credit memo" if document.kind == BillingDocument.Kind.CREDIT_MEMO else "Invoice",
    }
    if len(rows) > LISTING_FROM_LINES:
        context["listing"] = listing(rows)
    else:
        context["table"] = table_layout(rows, total)
    return render_to_string(TEMPLATE, context)


def render_document_pdf(
    document: BillingDocument, *, lines: Iterable[DocumentLine] | None = None
) -> bytes:
    """The document as PDF bytes.

    `lines` lets a caller that renders many documents read all their lines in one query;
    without it the lines are read here, in one query ordered by id.
    """
    # Imported here: WeasyPrint takes over half a second to import and logs as it loads its
    # stylesheets, which every web worker and management command would otherwise pay.
    from weasyprint import HTML

    # The template is self-contained (inline CSS, system fonts, no images), so WeasyPrint has
    # nothing to fetch from the network or the filesystem.
    return HTML(string=render_document_html(document, lines=lines)).write_pdf()


def as_download(document: BillingDocument, content: bytes) -> HttpResponse:
    """A document's PDF as the file a page or the API sends."""
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{document.number or document.pk}.pdf"'
    return response
