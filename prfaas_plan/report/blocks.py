"""What table-format reports return: `Table`, `Note` (a line of text) and `Blocks` (several in
order), plain data that renders two ways.

- On a terminal, `rich` draws them (`__rich__`: a rich Table, Text or Group, as before).
- Off a terminal (piped, or written with `-o`), `plain(width)` returns the same text rich prints
  at that width without colour, computed here without importing rich (its import and layout cost
  about 0.05-0.07 s of a `kv`/`perf` run). It covers what the reports print: printable ASCII,
  cells without leading or trailing spaces; for anything else (other characters, a possible
  `:emoji:` code, a table wider than `width`) it returns None and the caller lets rich render.
  `tests/test_blocks.py` checks the two agree, byte for byte, over varied tables.

The table is rich's `HEAVY_HEAD` box with one space of padding each side, the first column
left-justified and the others right-justified, the title left-justified and word-wrapped to the
table's width (rich's rule: a word that does not fit starts a new line, a word longer than a line
is cut).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# rich's emoji codes (`:smile:`) are replaced in titles and cells: such text is left to rich
_EMOJI_LIKE = re.compile(r":\S*:")
_WORD = re.compile(r"\s*\S+\s*")


def _plain_ok(text: str, markup: bool) -> bool:
    """Whether `text` prints as written (printable ASCII lines; no emoji code where rich parses markup)."""
    if not text.isascii() or "\t" in text or "\r" in text:
        return False
    if any(not line.isprintable() for line in text.split("\n")):
        return False
    return not (markup and _EMOJI_LIKE.search(text))


def _wrap(line: str, width: int) -> list[str]:
    """rich's word wrap of one line (`rich._wrap.divide_line` with fold, for single-cell characters)."""
    breaks: list[int] = []
    offset = 0
    for m in _WORD.finditer(line):
        start, word = m.start(), m.group(0)
        length = len(word.rstrip())
        if width - offset >= length:
            offset += len(word)
        elif length > width:
            chunks = [word[i:i + width] for i in range(0, len(word), width)]
            for k, chunk in enumerate(chunks):
                if start:
                    breaks.append(start)
                if k == len(chunks) - 1:
                    offset = len(chunk)
                else:
                    start += len(chunk)
        elif offset and start:
            breaks.append(start)
            offset = len(word)
    bounds = [0, *breaks, len(line)]
    return [line[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


@dataclass(frozen=True)
class Table:
    """A titled table of text cells (already formatted)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    title: str | None = None

    def __rich__(self) -> Any:
        from rich.markup import escape
        from rich.table import Table as RichTable

        # cells are data, not markup: an op label such as `moe[power_law_1.01]` must print as written
        t = RichTable(title=escape(self.title) if self.title else self.title, title_justify="left",
                      header_style="bold")
        for i, c in enumerate(self.columns):
            t.add_column(escape(c), justify="left" if i == 0 else "right")
        for r in self.rows:
            t.add_row(*(escape(x) for x in r))
        return t

    def _cells_ok(self) -> bool:
        for cell in (*self.columns, *(x for r in self.rows for x in r)):
            if not _plain_ok(cell, markup=True) or any(ln != ln.strip() for ln in cell.split("\n")):
                return False
        return len(self.columns) > 0 and all(len(r) == len(self.columns) for r in self.rows)

    def plain(self, width: int) -> str | None:
        if not self._cells_ok() or (self.title and not _plain_ok(self.title, markup=True)):
            return None
        cells = [[c.split("\n") for c in row] for row in (self.columns, *self.rows)]
        widths = [max(len(ln) for row in cells for ln in row[i]) + 2 for i in range(len(self.columns))]
        table_width = sum(widths) + len(widths) + 1
        if table_width > width:
            return None
        out = [w for ln in (self.title or "").split("\n") for w in _wrap(ln, table_width)] if self.title else []
        out.append("┏" + "┳".join("━" * w for w in widths) + "┓")
        for k, row in enumerate(cells):
            height = max(len(c) for c in row)
            # the header sits at the bottom of its row, body cells at the top
            lines = [([""] * (height - len(c)) + c) if k == 0 else (c + [""] * (height - len(c))) for c in row]
            bar = "┃" if k == 0 else "│"
            for j in range(height):
                out.append(bar + bar.join(
                    " " + (ln.ljust(w - 2) if i == 0 else ln.rjust(w - 2)) + " "
                    for i, (w, ln) in enumerate(zip(widths, (c[j] for c in lines), strict=True))) + bar)
            if k == 0:
                out.append("┡" + "╇".join("━" * w for w in widths) + "┩")
        out.append("└" + "┴".join("─" * w for w in widths) + "┘")
        return "\n".join(out) + "\n"


@dataclass(frozen=True)
class Note:
    """Text printed as written (rich `Text`: no markup), with a terminal style such as "dim"."""

    text: str
    style: str = ""

    def __rich__(self) -> Any:
        from rich.text import Text

        return Text(self.text, style=self.style)

    def plain(self, width: int) -> str | None:
        if not _plain_ok(self.text, markup=False) or any(len(ln) > width for ln in self.text.split("\n")):
            return None
        return self.text + "\n"


@dataclass(frozen=True)
class Blocks:
    """Tables and notes printed one after another."""

    items: tuple[Table | Note, ...]

    def __rich__(self) -> Any:
        from rich.console import Group

        return Group(*(i.__rich__() for i in self.items))

    def plain(self, width: int) -> str | None:
        parts = [i.plain(width) for i in self.items]
        return None if any(p is None for p in parts) else "".join(p for p in parts if p is not None)


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> Table:
    return Table(tuple(columns), tuple(tuple(str(x) for x in r) for r in rows), title)


def blocks(*items: Table | Note) -> Blocks:
    return Blocks(tuple(items))
