"""Billing preview runs (DESIGN §11, Zuora's Billing Preview Run): what a bill run with some
scope, dates and charge types would bill, before anything is written.

- `services`: create (validated like a bill run), start (the scope cut into chunks of account
  ids, as a run's), finish, cancel, the 180-day clean-up and the watchdog's share;
- `execution`: one chunk, read and rated by the bill run's own `rating.rate_chunk` without
  locks, its CSV rows written with its counters;
- `result`: the CSV's columns and rows, streamed from the chunks;
- `views`, `urls`: the pages.

A preview writes none of what a bill run writes (documents, lines, numbers, cursors, usage
status, renewals, failures of a run): only its own rows.
"""
