"""Zoho's search criteria: `((Last_Name:equals:Burns)and(First_Name:starts_with:B))`.

Each condition is `(field:operator:value)`; groups join with `and` / `or` and nest; at most 10
conditions [docs/zoho-reference.md §6.3]. In values, `(`, `)`, `,` and `\\` are escaped with a
backslash; `in` / `between` take comma-separated values. Text compares ignore case, as Zoho's search
does. `and` binds tighter than `or` when a group mixes them [?]. The parse yields a predicate over a
stored record; errors are INVALID_QUERY (`invalid query formed`) [docs/zoho-reference.md §6.5].
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

from ..modules import FieldDef, ModuleDef
from . import errors

MAX_CONDITIONS: Final = 10
MAX_DEPTH: Final = 20  # nesting of groups; Zoho's limit is undocumented [?]
Predicate = Callable[[dict[str, Any]], bool]

_TEXT_OPS: Final = frozenset(
    {"equals", "not_equal", "starts_with", "ends_with", "contains", "not_contains", "in", "not_in"}
)
_ORDER_OPS: Final = frozenset(
    {
        "equals",
        "not_equal",
        "in",
        "not_in",
        "greater_than",
        "greater_equal",
        "less_than",
        "less_equal",
        "between",
        "not_between",
    }
)
_EQ_OPS: Final = frozenset({"equals", "not_equal", "in", "not_in"})
_TEXTUAL: Final = frozenset({"text", "textarea", "email", "phone", "website", "picklist"})
_EMPTY: Final = "${EMPTY}"  # Zoho's token for "no value" [docs/zoho-reference.md §6.3]


def invalid_query(reason: str, **details: Any) -> errors.CrmError:
    return errors.CrmError(
        "INVALID_QUERY", "invalid query formed", 400, {"reason": reason, **details}
    )


class _Parser:
    def __init__(self, text: str, module: ModuleDef) -> None:
        self.text = text
        self.i = 0
        self.module = module
        self.conditions = 0
        self.depth = 0

    def parse(self) -> Predicate:
        self._spaces()
        node = self._expr() if self._peek() == "(" else self._condition(bare=True)
        self._spaces()
        if self.i != len(self.text):
            raise invalid_query(f"unexpected text at position {self.i}")
        return node

    def _peek(self) -> str:
        return self.text[self.i] if self.i < len(self.text) else ""

    def _spaces(self) -> None:
        while self._peek() == " ":
            self.i += 1

    def _expect(self, char: str) -> None:
        self._spaces()
        if self._peek() != char:
            raise invalid_query(f"expected {char!r} at position {self.i}")
        self.i += 1

    def _expr(self) -> Predicate:
        groups: list[list[Predicate]] = [[self._term()]]
        while True:
            self._spaces()
            start = self.i
            while self._peek().isalpha():
                self.i += 1
            word = self.text[start : self.i].lower()
            if not word:
                break
            if word not in ("and", "or"):
                raise invalid_query(f"expected 'and' or 'or' at position {start}")
            if word == "or":
                groups.append([])
            groups[-1].append(self._term())
        alternatives = [_all(group) for group in groups]
        return alternatives[0] if len(alternatives) == 1 else _any(alternatives)

    def _term(self) -> Predicate:
        self._expect("(")
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise invalid_query("groups are nested too deeply")
        self._spaces()
        node = self._expr() if self._peek() == "(" else self._condition(bare=False)
        self._expect(")")
        self.depth -= 1
        return node

    def _part(self) -> str:
        start = self.i
        while self.i < len(self.text) and self.text[self.i] not in ":()":
            self.i += 1
        if self._peek() != ":":
            raise invalid_query(f"expected ':' at position {self.i}")
        part = self.text[start : self.i]
        self.i += 1
        return part.strip()

    def _values(self, bare: bool) -> list[str]:
        """The value part up to the closing `)`: split on unescaped commas, escapes removed."""
        values, current = [], []
        while self.i < len(self.text):
            char = self.text[self.i]
            if char == "\\" and self.i + 1 < len(self.text):
                current.append(self.text[self.i + 1])
                self.i += 2
                continue
            if char == ")" and not bare:
                break
            if char in "()":
                raise invalid_query(f"unescaped {char!r} in a value at position {self.i}")
            if char == ",":
                values.append("".join(current))
                current = []
            else:
                current.append(char)
            self.i += 1
        values.append("".join(current))
        return values

    def _condition(self, bare: bool) -> Predicate:
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise errors.limit_exceeded(
                "Max criteria limit exceeded", param_name="criteria", limit=MAX_CONDITIONS
            )
        name = self._part()
        operator = self._part().lower()
        values = self._values(bare)
        field = self.module.field(name)
        if field is None:
            raise invalid_query("the field is not available for search", api_name=name)
        return _compile(field, operator, values)


def parse(text: str, module: ModuleDef) -> Predicate:
    return _Parser(text, module).parse()


def _all(parts: list[Predicate]) -> Predicate:
    return parts[0] if len(parts) == 1 else (lambda r: all(p(r) for p in parts))


def _any(parts: list[Predicate]) -> Predicate:
    return lambda r: any(p(r) for p in parts)


def _bad_operator(field: FieldDef, operator: str) -> errors.CrmError:
    return invalid_query("invalid operator found", api_name=field.api_name, operator=operator)


def _compile(field: FieldDef, op: str, values: list[str]) -> Predicate:
    name = field.api_name
    if field.data_type in _TEXTUAL:
        if op not in _TEXT_OPS:
            raise _bad_operator(field, op)
        return _text(name, op, [v.lower() for v in values])
    if field.data_type in ("lookup", "ownerlookup"):
        if op not in _EQ_OPS:
            raise _bad_operator(field, op)
        wanted = {v.lower() for v in values}
        return _polarity(name, op, lambda v: _names_match(v, wanted))
    if op not in _ORDER_OPS:
        raise _bad_operator(field, op)
    convert = _converter(field)
    try:
        bounds = [None if v == _EMPTY else convert(v) for v in values]
    except (ValueError, TypeError, KeyError) as exc:
        raise invalid_query("invalid value for the field", api_name=name) from exc
    return _ordered(name, op, bounds, convert)


def _text(name: str, op: str, values: list[str]) -> Predicate:
    first = values[0]
    tests: dict[str, Callable[[str], bool]] = {
        "equals": lambda s: s == first,
        "not_equal": lambda s: s != first,
        "starts_with": lambda s: s.startswith(first),
        "ends_with": lambda s: s.endswith(first),
        "contains": lambda s: first in s,
        "not_contains": lambda s: first not in s,
        "in": lambda s: s in values,
        "not_in": lambda s: s not in values,
    }
    test = tests[op]
    empty = _EMPTY.lower()

    def predicate(record: dict[str, Any]) -> bool:
        value = record.get(name)
        if value is None or value == "":
            if first == empty:  # `${EMPTY}` asks for records without a value
                return op in ("equals", "in")
            return op in ("not_equal", "not_contains", "not_in")
        return test(str(value).lower())

    return predicate


def _names_match(value: Any, wanted: set[str]) -> bool:
    """A lookup value `{"id", "name"(, "email")}` matches by any of them."""
    if not isinstance(value, dict):
        return False
    return any(str(value.get(k) or "").lower() in wanted for k in ("id", "name", "email"))


def _polarity(name: str, op: str, hit: Callable[[Any], bool]) -> Predicate:
    negate = op in ("not_equal", "not_in")
    return lambda r: hit(r.get(name)) != negate


def _converter(field: FieldDef) -> Callable[[Any], Any]:
    if field.api_name == "id":
        return lambda v: int(str(v))
    if field.json_type in ("integer", "double"):
        return lambda v: float(v)
    if field.json_type == "boolean":
        return _boolean
    if field.data_type == "datetime":
        return _moment
    return lambda v: str(v)  # dates compare as YYYY-MM-DD text


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return {"true": True, "false": False}[str(value).lower()]


def _moment(value: Any) -> datetime:
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _ordered(name: str, op: str, bounds: list[Any], convert: Callable[[Any], Any]) -> Predicate:
    if op in ("between", "not_between") and len(bounds) != 2:
        raise invalid_query("between needs two comma-separated values", api_name=name)
    first = bounds[0]

    def test(v: Any) -> bool:
        if op == "equals":
            return bool(v == first)
        if op == "not_equal":
            return bool(v != first)
        if op == "in":
            return v in bounds
        if op == "not_in":
            return v not in bounds
        if v is None or first is None:
            return False
        if op == "greater_than":
            return bool(v > first)
        if op == "greater_equal":
            return bool(v >= first)
        if op == "less_than":
            return bool(v < first)
        if op == "less_equal":
            return bool(v <= first)
        low, high = bounds
        inside = low is not None and high is not None and bool(low <= v <= high)
        return inside if op == "between" else not inside

    def predicate(record: dict[str, Any]) -> bool:
        raw = record.get(name)
        try:
            value = None if raw is None or raw == "" else convert(raw)
        except (ValueError, TypeError, KeyError):
            return False
        return test(value)

    return predicate
