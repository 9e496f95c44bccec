from tests.factories import DocumentLineFactory


def test_a_line_factory_builds_a_consistent_document(db):
    line = DocumentLineFactory()
    assert line.charge.account_id == line.document.account_id
    assert line.document.number is None
    assert line.charge.number.startswith("C")
