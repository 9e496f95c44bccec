"""The variance review's tests (tests/billruns/test_review.py), on PostgreSQL: its SQL (the
preparation's INSERT … SELECT with the previous document's subquery and the change in numeric
thousandths, the flags' index ranges and window counts) in exact numeric arithmetic rather than
SQLite's floats and integers."""

import pytest

from tests.billruns.test_review import (  # noqa: F401 (fixtures and tests collected here too)
    first_document_amounts,
    test_a_canceled_previous_document_is_skipped_for_the_one_before,
    test_a_change_a_hair_above_the_threshold_is_flagged,
    test_a_change_is_flagged_only_above_the_threshold,
    test_a_completed_run_has_its_review_prepared_as_it_completes,
    test_a_credit_memo_counts_as_a_negative_amount,
    test_a_currency_change_makes_a_first_document_not_a_comparison,
    test_a_document_with_many_more_lines_than_the_runs_usual_is_flagged,
    test_a_first_document_above_the_amount_is_flagged_and_one_below_it_is_not,
    test_a_page_past_the_end_shows_the_last_page,
    test_a_preparation_that_stopped_moving_is_asked_for_again,
    test_a_run_with_chunks_is_prepared_a_batch_of_chunks_at_a_time,
    test_canceling_an_earlier_documents_run_prepares_the_review_again,
    test_only_earlier_documents_of_other_runs_are_previous,
    test_the_export_reads_in_a_fixed_number_of_queries,
    test_the_first_document_amounts_come_from_the_setting,
    test_the_tab_costs_the_same_queries_for_3_or_120_flagged_documents,
    test_the_tab_sorts_by_account_amount_change_and_previous_amount,
)

pytestmark = [pytest.mark.postgres]
