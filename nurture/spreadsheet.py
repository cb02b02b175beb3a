"""Cells for CSV files that staff open in a spreadsheet (every export uses this).

A spreadsheet runs a cell that starts with one of FORMULA_STARTS as a formula, so a
lead who types `=HYPERLINK(...)` as their name could run it on a staff member's
machine (CSV injection; OWASP's list of characters).
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """The cell, made inert for spreadsheets: a leading formula character gets a quote."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell
