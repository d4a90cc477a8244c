"""Every table the CLI prints, drawn one way: `print_table`.

On a terminal: a Rich table, where id columns (connection, key and webhook ids) never wrap or
shorten, so an id can be selected and pasted whole; a table wider than the terminal becomes one
block per row, a line per column, rather than squeezing every column into a sliver. Piped or
redirected: plain tab-separated lines, a header line first, no colour, no box and no title, so
`zohoauth tokens list | grep ava | cut -f8` works and no id is ever broken at 80 columns. For
scripts, every command that prints a table also has `--json`.

Cells are plain text (never Rich markup: an org name like "[bold]" stays as typed); a cell may
carry a style as `(text, style)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .app import console

Cell = str | tuple[str, str]


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    #: An identifier: printed whole on one line, never wrapped or cut.
    key: bool = False


def _plain(cell: Cell) -> str:
    text = cell[0] if isinstance(cell, tuple) else cell
    return " ".join(text.split("\t")).replace("\n", " ")


def print_table(
    columns: Sequence[Column | str],
    rows: Sequence[Sequence[Cell]],
    *,
    title: str | None = None,
    header: bool = True,
) -> None:
    """`rows` under `columns`: a Rich table on a terminal, tab-separated lines otherwise."""
    cols = [c if isinstance(c, Column) else Column(c) for c in columns]
    out = console.get()
    if not out.is_terminal:
        lines = [[c.header for c in cols]] if header else []
        lines += [[_plain(cell) for cell in row] for row in rows]
        for line in lines:
            print("\t".join(line))
        return
    from rich import box
    from rich.measure import Measurement
    from rich.table import Table
    from rich.text import Text

    def text(cell: Cell) -> Text:
        return Text(cell[0], style=cell[1]) if isinstance(cell, tuple) else Text(cell)

    table = Table(
        title=title,
        title_justify="left",
        show_header=header,
        box=box.SIMPLE_HEAD if header else None,  # no vertical rules: more room for values
        pad_edge=False,
        show_edge=False,
    )
    for col in cols:
        table.add_column(col.header, no_wrap=col.key, overflow="fold")
    for row in rows:
        table.add_row(*(text(c) for c in row))
    wide = Measurement.get(out, out.options.update(max_width=10**6), table).maximum
    if wide <= out.width or not header:
        out.print(table)
        return
    # Too wide for this terminal: one block per row, a column per line, so nothing wraps
    # inside a narrow column and every id stays whole on its line.
    if title:
        out.print(Text(title, style="italic"))
    label = max(len(c.header) for c in cols[1:]) if len(cols) > 1 else 0
    for row in rows:
        first = text(row[0])
        first.stylize("bold")
        out.print(first)
        for col, cell in zip(cols[1:], row[1:], strict=True):
            out.print(Text.assemble(f"  {col.header:<{label}}  ", text(cell)))


__all__ = ["Column", "print_table"]
