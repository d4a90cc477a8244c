r"""Search criteria for Zoho CRM's Search Records API, built safely.

Zoho's syntax is `(Field:operator:value)`, grouped as `((A)and(B))` or `((A)or(B))`, at most
10 conditions per search (docs/zoho-reference.md §6.3). Parentheses and commas inside a value
must be escaped with a backslash (`Patricia\(Boyle\)`) (docs/zoho-reference.md §6.3); a
backslash itself is escaped too, or a value ending in `\` would eat the closing parenthesis.
Building the string by hand from user input is an injection risk, so:

    >>> from zohoauth import criteria as c
    >>> print(c.equals("Email", "a@b.com") & c.starts_with("Last_Name", "O(Brien"))
    ((Email:equals:a@b.com)and(Last_Name:starts_with:O\(Brien))

The result is a `Criteria`; pass it (or its `str()`) as `criteria=` to `CRMClient.search`.
URL-encoding is left to the HTTP client, as Zoho asks (escape first, then encode).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Final

#: Zoho allows at most this many conditions in one search (docs/zoho-reference.md §6.3).
MAX_CONDITIONS: Final = 10

# Field API names are letters, digits and underscores; `$` appears in system fields and `.`
# in lookups (Owner.id). Anything else (`:`, `(`, `)`) would change the criteria's structure.
_FIELD = re.compile(r"[A-Za-z0-9_$][A-Za-z0-9_$.]{0,99}")
_OPERATOR = re.compile(r"[a-z_]{2,30}")
_ESCAPES: Final = str.maketrans({"\\": "\\\\", "(": "\\(", ")": "\\)", ",": "\\,"})

Value = str | int | float | bool | date | datetime


def escape(value: Value) -> str:
    r"""One criteria value as Zoho expects it: `\`, `(`, `)` and `,` backslash-escaped."""
    if value is None:
        raise ValueError("a criteria value cannot be None; Zoho search has no null comparison")
    if isinstance(value, bool):  # before int: bool is an int
        text = "true" if value else "false"
    elif isinstance(value, datetime | date):
        # Zoho takes ISO 8601 date-times with an offset (docs/zoho-reference.md §6.3)
        text = value.isoformat()
    else:
        text = str(value)
    return text.translate(_ESCAPES)


class Criteria:
    """A criteria expression; combine with `&` (and) and `|` (or). Immutable."""

    __slots__ = ("_count", "_op", "_parts")

    def __init__(self, parts: tuple[str, ...], op: str | None, count: int) -> None:
        if count > MAX_CONDITIONS:
            raise ValueError(
                f"Zoho search accepts at most {MAX_CONDITIONS} conditions; this has {count}. "
                "Split the search or narrow it with fewer conditions."
            )
        self._parts = parts
        self._op = op  # None for a single condition
        self._count = count

    def _combine(self, op: str, other: Criteria) -> Criteria:
        if not isinstance(other, Criteria):
            return NotImplemented
        # Flatten runs of the same operator: ((A)and(B)and(C)) rather than (((A)and(B))and(C)).
        left = self._parts if self._op == op else (str(self),)
        right = other._parts if other._op == op else (str(other),)
        return Criteria((*left, *right), op, self._count + other._count)

    def __and__(self, other: Criteria) -> Criteria:
        return self._combine("and", other)

    def __or__(self, other: Criteria) -> Criteria:
        return self._combine("or", other)

    def __str__(self) -> str:
        if self._op is None:
            return self._parts[0]
        return "(" + self._op.join(self._parts) + ")"

    def __repr__(self) -> str:
        return f"Criteria({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Criteria) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    @property
    def conditions(self) -> int:
        """How many conditions the expression holds (Zoho's limit is 10)."""
        return self._count


def condition(field: str, operator: str, value: Value | Iterable[Value]) -> Criteria:
    """`(field:operator:value)`. An iterable value (for `in`, `between`) is comma-joined,
    each element escaped so only the separators stay bare."""
    if not isinstance(field, str) or not _FIELD.fullmatch(field):
        raise ValueError(f"{field!r} is not a field API name (letters, digits, _ and $ only)")
    if not _OPERATOR.fullmatch(operator):
        raise ValueError(f"{operator!r} is not a Zoho search operator")
    if value is None or isinstance(value, str | int | float | bool | date | datetime):
        text = escape(value)
    else:
        items = [escape(v) for v in value]
        if not items:
            raise ValueError(f"{operator} on {field} needs at least one value")
        text = ",".join(items)
    return Criteria((f"({field}:{operator}:{text})",), None, 1)


def equals(field: str, value: Value) -> Criteria:
    return condition(field, "equals", value)


def not_equal(field: str, value: Value) -> Criteria:
    return condition(field, "not_equal", value)


def starts_with(field: str, value: Value) -> Criteria:
    return condition(field, "starts_with", value)


def in_(field: str, values: Iterable[Value]) -> Criteria:
    """`(field:in:a,b,c)` — `in` is a Python keyword, hence the underscore."""
    return condition(field, "in", list(values))


def greater_than(field: str, value: Value) -> Criteria:
    return condition(field, "greater_than", value)


def greater_equal(field: str, value: Value) -> Criteria:
    return condition(field, "greater_equal", value)


def less_than(field: str, value: Value) -> Criteria:
    return condition(field, "less_than", value)


def less_equal(field: str, value: Value) -> Criteria:
    return condition(field, "less_equal", value)


def between(field: str, low: Value, high: Value) -> Criteria:
    return condition(field, "between", [low, high])


__all__ = [
    "MAX_CONDITIONS",
    "Criteria",
    "between",
    "condition",
    "equals",
    "escape",
    "greater_equal",
    "greater_than",
    "in_",
    "less_equal",
    "less_than",
    "not_equal",
    "starts_with",
]
