"""A results table printed row by row as each measurement finishes, so a long run that dies keeps its rows."""

from __future__ import annotations

from collections.abc import Sequence


class Table:
    """A Markdown table on stdout: the header at once, then each row the moment it is measured."""

    def __init__(self, columns: Sequence[str], widths: Sequence[int] | None = None) -> None:
        self.widths = list(widths) if widths is not None else [len(column) for column in columns]
        self.rows = 0
        self._line(columns)
        print("|" + "|".join("-" * (width + 2) for width in self.widths) + "|", flush=True)

    def _line(self, cells: Sequence[str]) -> None:
        padded = (cell.ljust(width) for cell, width in zip(cells, self.widths, strict=True))
        print("| " + " | ".join(padded) + " |", flush=True)

    def row(self, *cells: str) -> None:
        self._line(cells)
        self.rows += 1
