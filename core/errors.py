"""The refusals every app raises: one readable sentence, shown by pages as a message and printed
by commands as one line with exit status 1."""


class DomainError(Exception):
    """A request the domain refuses; `str(error)` is the sentence an operator reads."""


class IllegalTransition(DomainError):
    """The status of a run or a document does not allow what was asked."""
