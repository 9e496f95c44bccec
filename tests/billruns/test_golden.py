"""The same lines and amounts as before the speed-up of issue 14, line by line, on demo data
with renewals, usage, tiers, prorations, cancellations and price changes credited back."""

import csv
import gzip
import os
from pathlib import Path

import pytest

from billruns import golden

pytestmark = pytest.mark.django_db
GOLDEN = Path(__file__).parent / "golden" / "demo_lines.csv.gz"


def test_two_runs_over_the_demo_data_write_exactly_the_golden_lines():
    lines = golden.lines()
    if os.environ.get("GOLDEN_WRITE"):
        with gzip.open(GOLDEN, "wt", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(golden.HEADER)
            writer.writerows(lines)
    with gzip.open(GOLDEN, "rt", newline="") as file:
        reader = csv.reader(file)
        assert tuple(next(reader)) == golden.HEADER
        expected = [tuple(row) for row in reader]
    # Both runs bill, the second credits back: the data exercises what it should.
    assert {row[0] for row in lines} == {"BR-00000001", "BR-00000002"}
    assert any(row[12] for row in lines)  # credit lines
    assert any(row[5] == "Usage" for row in lines) and any(row[2] == "CreditMemo" for row in lines)
    for index, (now, before) in enumerate(zip(lines, expected, strict=False)):
        assert now == before, f"line {index + 1} differs"
    assert len(lines) == len(expected)
