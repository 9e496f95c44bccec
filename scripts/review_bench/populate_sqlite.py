"""Bench data for the Review tab (docs/benchmarks.md, "The Review tab at 1,000,000 accounts"):
N accounts, three earlier monthly runs and the reviewed run 4 (Completed), written with raw SQL
into a migrated SQLite file. The columns are this schema's at migration 0011: adjust them when
the tables change.

    DATABASE_URL=sqlite:////tmp/rev.sqlite3 .venv/bin/python manage.py migrate
    .venv/bin/python scripts/review_bench/populate_sqlite.py 1000000 /tmp/rev.sqlite3
    DATABASE_URL=sqlite:////tmp/rev.sqlite3 .venv/bin/python manage.py shell \
        < scripts/review_bench/time_pages.py
"""

import random
import sqlite3
import sys
import time

N = int(sys.argv[1])
path = sys.argv[2]
random.seed(7)
db = sqlite3.connect(path)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=OFF")
now = "2026-02-01 00:00:00"
t = time.time()
db.executemany(
    "INSERT INTO accounts_account(id,number,name,status,currency,bill_cycle_day,batch,bill_to_name,bill_to_email,payment_term_days,created_at,updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
    (
        (
            i,
            f"A{i:08d}",
            f"Customer {i}",
            "Active",
            "USD",
            1,
            "Batch1",
            "x",
            "x@example.com",
            30,
            now,
            now,
        )
        for i in range(1, N + 1)
    ),
)
db.executemany(
    "INSERT INTO accounts_subscription(id,number,status,term_start,created_at,updated_at,account_id,auto_renew,renewal_term_months) VALUES (?,?,?,?,?,?,?,?,?)",
    ((i, f"S{i:08d}", "Active", "2025-01-01", now, now, i, 0, 12) for i in range(1, N + 1)),
)
db.executemany(
    "INSERT INTO accounts_charge(id,number,name,charge_type,charge_model,price,quantity,tiers,uom,billing_period,billing_timing,effective_start,created_at,updated_at,account_id,subscription_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    (
        (
            i,
            f"C{i:08d}",
            "Fee",
            "Recurring",
            "FlatFee",
            "100",
            "1",
            "[]",
            "",
            "Month",
            "InAdvance",
            "2025-01-01",
            now,
            now,
            i,
            i,
        )
        for i in range(1, N + 1)
    ),
)
runs = [(1, "2025-11-01"), (2, "2025-12-01"), (3, "2026-01-01"), (4, "2026-02-01")]
for rid, day in runs:
    db.execute(
        "INSERT INTO billruns_billrun(id,number,name,target_type,batches,charge_types,auto_post,auto_email,no_email_for_zero_amount,run_type,invoice_date,target_date,status,error_message,created_at,updated_at,number_of_accounts,number_of_invoices,number_of_zero_amount_invoices,number_of_credit_memos,number_of_failures,invoice_amount,credit_memo_amount,amounts_by_currency,chunks_total,chunks_done,number_of_late_usage,review_threshold_percent) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,0,0,0,0,0,0,0,'{}',0,0,0,25)",
        (
            rid,
            f"BR-{rid:08d}",
            "",
            "MultipleAccounts",
            "[]",
            "[]",
            0,
            0,
            0,
            "AdHoc",
            day,
            day,
            "Posted" if rid < 4 else "Completed",
            "",
            now,
            now,
        ),
    )
doc_id = 0
line_id = 0
docs = []
lines = []


def flush():
    db.executemany(
        "INSERT INTO invoicing_billingdocument(id,kind,number,currency,document_date,target_date,due_date,amount,status,posted_at,created_at,updated_at,account_id,bill_run_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        docs,
    )
    db.executemany(
        "INSERT INTO invoicing_documentline(id,charge_type,description,service_start,service_end,quantity,unit_price,amount,canceled,charge_id,document_id,subscription_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        lines,
    )
    docs.clear()
    lines.clear()


for rid, day in runs:
    for a in range(1, N + 1):
        new = a % 100 == 0  # 1 %: first document in the reviewed run
        if new and rid < 4:
            continue
        base = 50 + (a * 7919) % 1000
        if rid == 4:
            r = random.random()
            amount = base * (1.5 if r < 0.03 else 1 + random.uniform(-0.1, 0.1))
        else:
            amount = base
        currency = "EUR" if (a % 250 == 0 and rid < 4) else "USD"  # currency changes
        doc_id += 1
        status = "Canceled" if (rid == 3 and a % 500 == 0) else ("Posted" if rid < 4 else "Draft")
        docs.append(
            (
                doc_id,
                "Invoice",
                f"INV{doc_id:08d}",
                currency,
                day,
                day,
                "2026-12-31",
                f"{amount:.2f}",
                status,
                now if status == "Posted" else None,
                now,
                now,
                a,
                rid,
            )
        )
        count = 20 if (rid == 4 and a % 200 == 7) else (1 + a % 3)
        for k in range(count):
            line_id += 1
            start = f"{day[:8]}{k + 1:02d}"
            lines.append(
                (
                    line_id,
                    "Recurring",
                    "Fee",
                    start,
                    start,
                    "1",
                    "1",
                    "1",
                    1 if status == "Canceled" else 0,
                    a,
                    doc_id,
                    a,
                )
            )
        if len(docs) >= 50000:
            flush()
flush()
db.commit()
print(f"{doc_id} documents, {line_id} lines in {time.time() - t:.0f} s")
