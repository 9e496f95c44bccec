"""django-q2 entry points of the invoicing app: ids in, one service call."""

from invoicing.pdf_files import render_stored_pdf


def render_pdf(document_id: int) -> str:
    return render_stored_pdf(document_id=document_id)
