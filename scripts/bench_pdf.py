"""How long one big document's PDF takes to render (docs/benchmarks.md, "A 10,000-line PDF").

    .venv/bin/python scripts/bench_pdf.py --lines 10000 [--output invoice.pdf]

The document and its lines are built in memory (nothing is read from or written to the
database), so the figure is the template and WeasyPrint alone: what a worker spends on top of
the one query that reads the lines. Prints the HTML and PDF times, pages and size.
"""

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_project.settings")

import django

django.setup()

from accounts.models import Account  # noqa: E402
from invoicing.models import BillingDocument, DocumentLine  # noqa: E402
from invoicing.pdf import render_document_html, render_document_pdf  # noqa: E402


def build(lines: int) -> tuple[BillingDocument, list[DocumentLine]]:
    account = Account(
        number="A00000001", name="Acme Widgets", currency="USD", bill_to_name="Acme AP"
    )
    document = BillingDocument(
        kind=BillingDocument.Kind.INVOICE,
        number="INV00000001",
        account=account,
        currency="USD",
        document_date=dt.date(2026, 11, 1),
        target_date=dt.date(2026, 11, 1),
        due_date=dt.date(2026, 12, 1),
        status=BillingDocument.Status.DRAFT,
    )
    rows = []
    for n in range(lines):
        day = dt.date(2026, 1, 1) + dt.timedelta(days=n % 300)
        quantity = Decimal(n % 97 + 1)
        unit_price = Decimal("0.0125") * (n % 13 + 1)
        rows.append(
            DocumentLine(
                id=n + 1,
                document=document,
                charge_type="Usage",
                description=f"API calls, region {n % 7} (usage line {n + 1})",
                service_start=day,
                service_end=day,
                quantity=quantity,
                unit_price=unit_price,
                amount=(quantity * unit_price).quantize(Decimal("0.01")),
            )
        )
    document.amount = sum(row.amount for row in rows)
    return document, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--output", help="Keep the PDF in this file.")
    args = parser.parse_args()
    document, lines = build(args.lines)
    render_document_pdf(document, lines=lines[:5])  # import WeasyPrint, warm the caches
    started = time.perf_counter()
    render_document_html(document, lines=lines)
    html_seconds = time.perf_counter() - started
    started = time.perf_counter()
    pdf = render_document_pdf(document, lines=lines)
    pdf_seconds = time.perf_counter() - started
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(pdf)
        file.flush()
        info = subprocess.run(["pdfinfo", file.name], capture_output=True, text=True).stdout
    pages = next((line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")), "?")
    if args.output:
        Path(args.output).write_bytes(pdf)
    print(
        f"{args.lines:,} lines: HTML {html_seconds:.2f} s, PDF (HTML included) {pdf_seconds:.1f} s, "
        f"{pages} pages, {len(pdf) / 1e6:.1f} MB"
    )


if __name__ == "__main__":
    main()
