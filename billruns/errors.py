"""The refusals of bill run services (one readable sentence each; see core.errors)."""

from core.errors import DomainError, IllegalTransition

__all__ = ["BillRunError", "IllegalTransition"]


class BillRunError(DomainError):
    """Bad input for a bill run: the message is one line an operator understands."""
