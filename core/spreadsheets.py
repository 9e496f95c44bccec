"""What every CSV the app writes does to its text cells, so that opening one in a spreadsheet
never runs a cell as a formula (CSV or "formula" injection).

OWASP's advice: a text cell that starts with = + - @, a tab or a carriage return gets a single
quote in front, which a spreadsheet shows as text and does not evaluate. Only text is changed:
numbers (an amount of -12.00, a quantity) and dates are written as they are, so a spreadsheet
still reads them as numbers. XLSX needs none of this: its text cells are typed as strings
(billruns/exports/files.py).
"""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(text: str) -> str:
    """A text cell as a CSV carries it: with a leading ' when it would start a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text
