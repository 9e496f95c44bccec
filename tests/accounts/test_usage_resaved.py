"""A usage file opened and saved again by a spreadsheet is the same usage (docs/decisions.md,
accounts.UsageImport): a spreadsheet writes the numbers it read as it shows them, 12.50 as 12.5
and 3.0 as 3, so the repeat must still be recognised, or that usage bills twice."""

import pytest

from accounts.imports import ImportFileError
from accounts.models import UsageRecord
from tests.accounts.test_repeated_imports import customer, imported  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db
HEADER = "account_number,charge_number,quantity,usage_date\n"


@pytest.mark.parametrize(
    ("written", "resaved"),
    [("12.50", "12.5"), ("3.0", "3"), ("100.000", "100")],
)
def test_the_same_usage_resaved_by_a_spreadsheet_is_refused(customer, written, resaved):  # noqa: F811
    imported(HEADER + f"A00000101,C00000011,{written},2026-01-10\n")
    with pytest.raises(ImportFileError, match="These rows were already imported"):
        imported(HEADER + f"A00000101,C00000011,{resaved},2026-01-10\n", file_name="resaved.csv")
    assert UsageRecord.objects.count() == 1


def test_other_quantities_are_other_usage(customer):  # noqa: F811
    imported(HEADER + "A00000101,C00000011,12.50,2026-01-10\n")
    assert imported(HEADER + "A00000101,C00000011,125,2026-01-10\n").rows_written == 1
    assert imported(HEADER + "A00000101,C00000011,1.25,2026-01-10\n").rows_written == 1
