"""Numbers as the report writes them, and the report's words, which live in `templates/`.

`templates/benchmarks.md` is the page; `templates/pieces.md` holds the named pieces of text the
page and its findings are assembled from (a sentence that depends on the numbers, a block
repeated per transport). Both are `string.Template` text: `$name` / `${name}` placeholders,
`$$` for a dollar sign. `string.Template` rather than `str.format`, since the page is full of
literal braces (`GET /crm/v8/Leads/{id}`) and would need every one doubled.
"""

from __future__ import annotations

import functools
import math
import re
from pathlib import Path
from string import Template
from typing import Any

NAN = float("nan")
TEMPLATES = Path(__file__).resolve().parent / "templates"
_PIECE = re.compile(r"^\[([a-z_]+)\]$", re.MULTILINE)


def is_nan(v: Any) -> bool:
    return isinstance(v, float) and math.isnan(v)


def fmt(v: Any, unit: str = "") -> str:
    """3 significant-ish figures: 1,234 / 12.3 / 1.23; '-' for missing."""
    if v is None or is_nan(v):
        return "-"
    if isinstance(v, float):
        if abs(v) >= 100:
            s = f"{v:,.0f}"
        elif abs(v) >= 10:
            s = f"{v:.1f}"
        else:
            s = f"{v:.2f}"
    else:
        s = f"{v:,}" if isinstance(v, int) else str(v)
    return s + unit


def us_spread(spread: Any) -> str:
    """A median in µs (ms from 10 ms up) with its p10–p90 in the same unit."""
    if not isinstance(spread, dict):
        return "-"
    m, lo, hi = (spread.get(k, NAN) for k in ("median", "p10", "p90"))
    if m is not None and m >= 10_000:
        return f"{m / 1000:,.1f} ms ({fmt(_ms(lo))}–{fmt(_ms(hi))})"
    return f"{fmt(m)} µs ({fmt(lo)}–{fmt(hi)})"


def _ms(v: Any) -> Any:
    return v / 1000 if isinstance(v, int | float) else v


def p10_p90(spread: Any) -> str:
    if not isinstance(spread, dict):
        return "-"
    return f"{fmt(spread.get('p10'))}–{fmt(spread.get('p90'))}"


def transport(crm: dict[str, Any], default: str = "") -> str:
    """ "https" or "plain http" for a CRM block (its `transport` is e.g. "https (TLS 1.3, ...)")."""
    return "https" if str(crm.get("transport", default)).startswith("https") else "plain http"


def md_table(headers: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


# -- templates ---------------------------------------------------------------------------------


@functools.cache
def page_template() -> Template:
    return Template((TEMPLATES / "benchmarks.md").read_text())


@functools.cache
def pieces() -> dict[str, Template]:
    """templates/pieces.md: `[name]` on a line of its own starts a piece, which runs to the next
    one; blank lines at either end are dropped, blank lines inside kept. Text before the first
    piece is a comment for whoever edits the file."""
    text = (TEMPLATES / "pieces.md").read_text()
    found = list(_PIECE.finditer(text))
    out = {}
    for m, nxt in zip(found, [*found[1:], None], strict=True):
        body = text[m.end() : nxt.start() if nxt else len(text)]
        out[m.group(1)] = Template(body.strip("\n"))
    return out


def piece(name: str, **values: Any) -> str:
    """One piece of templates/pieces.md with its placeholders filled (all of them, or KeyError)."""
    return pieces()[name].substitute({k: str(v) for k, v in values.items()})
