"""populate_sqlite.py for PostgreSQL, with COPY (and the reviewed run's 1,000-account chunks, as a
real run has): `populate_postgres.py N postgresql://postgres@127.0.0.1:5432/rev1m` on a migrated
database."""

import random
import sys
import time

import psycopg

N = int(sys.argv[1])
dsn = sys.argv[2]
random.seed(7)
now = "2026-02-01 00:00:00+00"
t = time.time()
with psycopg.connect(dsn) as db:
    cur = db.cursor()
    with cur.copy(
        "COPY accounts_account(id,number,name,status,currency,bill_cycle_day,batch,bill_to_name,bill_to_email,payment_term_days,created_at,updated_at) FROM STDIN"
    ) as cp:
        for i in range(1, N + 1):
            cp.write_row(
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
            )
    with cur.copy(
        "COPY accounts_subscription(id,number,status,term_start,created_at,updated_at,account_id,auto_renew,renewal_term_months) FROM STDIN"
    ) as cp:
        for i in range(1, N + 1):
            cp.write_row((i, f"S{i:08d}", "Active", "2025-01-01", now, now, i, False, 12))
    with cur.copy(
        "COPY accounts_charge(id,number,name,charge_type,charge_model,price,quantity,tiers,uom,billing_period,billing_timing,effective_start,created_at,updated_at,account_id,subscription_id) FROM STDIN"
    ) as cp:
        for i in range(1, N + 1):
            cp.write_row(
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
            )
    runs = [(1, "2025-11-01"), (2, "2025-12-01"), (3, "2026-01-01"), (4, "2026-02-01")]
    for rid, day in runs:
        cur.execute(
            "INSERT INTO billruns_billrun(id,number,name,target_type,batches,charge_types,auto_post,auto_email,no_email_for_zero_amount,run_type,invoice_date,target_date,status,error_message,created_at,updated_at,number_of_accounts,number_of_invoices,number_of_zero_amount_invoices,number_of_credit_memos,number_of_failures,invoice_amount,credit_memo_amount,amounts_by_currency,chunks_total,chunks_done,number_of_late_usage,review_threshold_percent) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,0,0,0,0,0,0,0,'{}',0,0,0,25)",
            (
                rid,
                f"BR-{rid:08d}",
                "",
                "MultipleAccounts",
                "[]",
                "[]",
                False,
                False,
                False,
                "AdHoc",
                day,
                day,
                "Posted" if rid < 4 else "Completed",
                "",
                now,
                now,
            ),
        )
    with cur.copy(
        "COPY billruns_billrunchunk(sequence, first_account_id, last_account_id, status, attempts, number_of_accounts, number_of_invoices, number_of_zero_amount_invoices, number_of_credit_memos, number_of_failures, number_of_lines, amounts_by_currency, error_message, bill_run_id, number_of_late_usage) FROM STDIN"
    ) as cp:
        for i in range((N + 999) // 1000):
            cp.write_row(
                (
                    i,
                    i * 1000 + 1,
                    min(N, i * 1000 + 1000),
                    "Done",
                    1,
                    1000,
                    1000,
                    0,
                    0,
                    0,
                    0,
                    "{}",
                    "",
                    4,
                    0,
                )
            )

    def documents():
        doc_id = 0
        for rid, day in runs:
            for a in range(1, N + 1):
                if a % 100 == 0 and rid < 4:
                    continue
                doc_id += 1
                yield doc_id, rid, day, a

    with cur.copy(
        "COPY invoicing_billingdocument(id,kind,number,currency,document_date,target_date,due_date,amount,status,posted_at,created_at,updated_at,account_id,bill_run_id) FROM STDIN"
    ) as cp:
        for doc_id, rid, day, a in documents():
            base = 50 + (a * 7919) % 1000
            if rid == 4:
                r = random.random()
                amount = base * (1.5 if r < 0.03 else 1 + random.uniform(-0.1, 0.1))
            else:
                amount = base
            currency = "EUR" if (a % 250 == 0 and rid < 4) else "USD"
            status = (
                "Canceled" if (rid == 3 and a % 500 == 0) else ("Posted" if rid < 4 else "Draft")
            )
            cp.write_row(
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
    line_id = 0
    with cur.copy(
        "COPY invoicing_documentline(id,charge_type,description,service_start,service_end,quantity,unit_price,amount,canceled,charge_id,document_id,subscription_id) FROM STDIN"
    ) as cp:
        for doc_id, rid, day, a in documents():
            canceled = rid == 3 and a % 500 == 0
            count = 20 if (rid == 4 and a % 200 == 7) else (1 + a % 3)
            for k in range(count):
                line_id += 1
                start = f"{day[:8]}{k + 1:02d}"
                cp.write_row(
                    (
                        line_id,
                        "Recurring",
                        "Fee",
                        start,
                        start,
                        "1",
                        "1",
                        "1",
                        canceled,
                        a,
                        doc_id,
                        a,
                    )
                )
    for table in (
        "accounts_account",
        "accounts_subscription",
        "accounts_charge",
        "invoicing_billingdocument",
        "invoicing_documentline",
        "billruns_billrun",
    ):
        cur.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
        )
    db.commit()
    db.autocommit = True
    cur = db.cursor()
    cur.execute("VACUUM ANALYZE")
print(f"{line_id} lines in {time.time() - t:.0f} s")
