"""The criteria builder: Zoho's search syntax, escaping and limits (pure, no HTTP)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from zohoauth import criteria as c


def test_single_condition() -> None:
    assert str(c.equals("Email", "ava@zylker.com")) == "(Email:equals:ava@zylker.com)"


def test_and_or_group_and_flatten() -> None:
    a, b, d = c.equals("A", 1), c.starts_with("B", "x"), c.not_equal("D", "y")
    assert str(a & b) == "((A:equals:1)and(B:starts_with:x))"
    assert str(a & b & d) == "((A:equals:1)and(B:starts_with:x)and(D:not_equal:y))"
    assert str((a & b) | d) == "(((A:equals:1)and(B:starts_with:x))or(D:not_equal:y))"
    assert str(a | (b & d)) == "((A:equals:1)or((B:starts_with:x)and(D:not_equal:y)))"
    assert (a & b).conditions == 2


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        # Zoho's own example (docs/zoho-reference.md §6.3)
        ("Patricia(Boyle)", r"Patricia\(Boyle\)"),
        ("Burns,B", r"Burns\,B"),
        ("back\\slash", r"back\\slash"),
        ("ends with \\", "ends with \\\\"),
        # colons are URL-encoded by httpx, not escaped (docs/zoho-reference.md §6.3)
        ("a:b", "a:b"),
    ],
)
def test_values_are_escaped(value: str, escaped: str) -> None:
    assert c.escape(value) == escaped
    assert str(c.equals("Last_Name", value)) == f"(Last_Name:equals:{escaped})"


def test_a_value_cannot_close_the_condition_early() -> None:
    hostile = "x)or(Email:starts_with:"
    text = str(c.equals("Last_Name", hostile))
    # every parenthesis from the value is escaped, so only our own two stay bare
    bare = [i for i, ch in enumerate(text) if ch in "()" and (i == 0 or text[i - 1] != "\\")]
    assert bare == [0, len(text) - 1]


def test_typed_values() -> None:
    assert str(c.equals("Email_Opt_Out", True)) == "(Email_Opt_Out:equals:true)"
    assert str(c.greater_than("Amount", 10.5)) == "(Amount:greater_than:10.5)"
    assert str(c.less_equal("Closing_Date", date(2024, 5, 1))) == (
        "(Closing_Date:less_equal:2024-05-01)"
    )
    when = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert str(c.greater_equal("Modified_Time", when)) == (
        "(Modified_Time:greater_equal:2024-05-01T10:00:00+00:00)"
    )


def test_in_and_between_escape_each_item_but_not_the_separator() -> None:
    assert str(c.in_("Lead_Source", ["Web", "A,B"])) == r"(Lead_Source:in:Web,A\,B)"
    assert str(c.between("Amount", 1, 5)) == "(Amount:between:1,5)"
    assert str(c.less_than("Amount", 3)) == "(Amount:less_than:3)"
    with pytest.raises(ValueError, match="at least one"):
        c.in_("Lead_Source", [])


@pytest.mark.parametrize("field", ["", "Last Name", "A:B", "A)", "(A", "Ä"])
def test_field_names_are_checked(field: str) -> None:
    with pytest.raises(ValueError, match="field API name"):
        c.equals(field, "x")


def test_operator_and_none_are_checked() -> None:
    with pytest.raises(ValueError, match="operator"):
        c.condition("A", "eq:x", "y")
    with pytest.raises(ValueError, match="None"):
        c.equals("A", None)  # type: ignore[arg-type]


def test_at_most_ten_conditions() -> None:
    expr = c.equals("F0", 0)
    for i in range(1, 10):
        expr = expr & c.equals(f"F{i}", i)
    assert expr.conditions == 10
    with pytest.raises(ValueError, match="at most 10"):
        _ = expr & c.equals("F10", 10)


def test_equality_repr_and_bad_operands() -> None:
    assert c.equals("A", 1) == c.equals("A", "1")
    assert len({c.equals("A", 1), c.equals("A", "1")}) == 1
    assert repr(c.equals("A", 1)) == "Criteria('(A:equals:1)')"
    with pytest.raises(TypeError):
        _ = c.equals("A", 1) & "(B:equals:2)"  # type: ignore[operator]
