"""Where a canceled run puts each charge's `charged_through` back: exactly where it found it.

A run's lines of a charge usually say how it moved the cursor: billing starts the day after
`charged_through` (or on the charge's first day when it was never billed) and leaves it at the
end of the last line. Where the lines cannot say it (a usage period without records bills no
line but moves the cursor; a credit back moves it backwards; a first line that does not follow
the cursor), the chunk records the move in a CursorMove row. One function decides both: a move
is recorded exactly when the lines would not give it back.
"""

import datetime as dt

ONE_DAY = dt.timedelta(days=1)


def before_from_lines(first_line_start: dt.date, effective_start: dt.date) -> dt.date | None:
    """The cursor a run found, read off its first charge line of the charge: never billed
    when that line starts on the charge's first day, else the day before the line."""
    if first_line_start <= effective_start:
        return None
    return first_line_start - ONE_DAY


def needs_record(
    move: tuple[dt.date | None, dt.date | None],
    lines: tuple[dt.date, dt.date] | None,
    effective_start: dt.date,
) -> bool:
    """Whether a cursor move (before, after) must be written down: the run's charge lines of
    the charge, (first service start, last service end), would not give it back."""
    if lines is None:
        return True
    before, after = move
    first_start, last_end = lines
    return before_from_lines(first_start, effective_start) != before or last_end != after
