"""The error tree: one module holds every exception class, and its docstring draws the truth."""

from __future__ import annotations

import importlib
import pkgutil
import re

import zohoauth
from zohoauth import errors
from zohoauth.errors import CRMError, TokenError, ZohoAuthError, ZohoUnavailableError

#: One line of the drawing: tree characters, then a class name.
_NODE = re.compile(r"^    (?P<branch>[│├└─ ]*)(?P<name>[A-Z][A-Za-z]+)\b")


def _drawn_tree() -> dict[str, str | None]:
    """class name -> its parent's name as errors.py's docstring draws it (None for the root)."""
    assert errors.__doc__ is not None
    parents: dict[str, str | None] = {}
    path: list[str] = []
    for line in errors.__doc__.splitlines():
        found = _NODE.match(line)
        if found is None:
            if parents:
                break  # the drawing is one block of lines
            continue
        depth = len(found["branch"]) // 4
        del path[depth:]
        parents[found["name"]] = path[-1] if path else None
        path.append(found["name"])
    return parents


def _library_modules() -> list[str]:
    """Every module of the library proper (not the web app, CLI, emulator or migrations)."""
    names = []
    for info in pkgutil.walk_packages(zohoauth.__path__, "zohoauth."):
        layer = info.name.split(".")[1]
        if layer in ("web", "cli", "emulator") or ".migrations" in info.name:
            continue
        names.append(info.name)
    return names


def _subclasses(cls: type[BaseException]) -> set[type[BaseException]]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found


def test_the_docstring_draws_the_real_hierarchy() -> None:
    drawn = _drawn_tree()
    real: dict[str, str | None] = {"ZohoAuthError": None}
    for cls in _subclasses(ZohoAuthError):
        if cls.__module__.startswith("zohoauth."):
            (base,) = cls.__bases__
            real[cls.__name__] = base.__name__
    assert drawn == real


def test_every_exception_class_of_the_library_lives_in_errors() -> None:
    for name in _library_modules():
        importlib.import_module(name)
    elsewhere = {
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in _subclasses(BaseException)
        if cls.__module__.startswith("zohoauth.")
        and cls.__module__ != "zohoauth.errors"
        and cls.__module__.split(".")[1] not in ("web", "cli", "emulator")
    }
    assert elsewhere == set()


def test_every_error_is_public() -> None:
    assert set(errors.__all__) <= set(zohoauth.__all__)
    assert set(errors.__all__) == {
        cls.__name__ for cls in vars(errors).values() if isinstance(cls, type)
    } - {"Any"}


def test_zoho_unreachable_is_neither_a_token_nor_a_crm_error() -> None:
    assert ZohoUnavailableError.__bases__ == (ZohoAuthError,)
    assert not issubclass(ZohoUnavailableError, TokenError | CRMError)
