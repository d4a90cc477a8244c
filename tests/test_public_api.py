"""The public surface: what `zohoauth` exports, and which package may import which.

`__all__` is pinned so that adding or removing a public name is a deliberate change to this
file; the import rules keep the layers honest (the library never reaches into the web app, CLI
or emulator; the emulator shares no code with the library it tests).
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import zohoauth

SRC = Path(zohoauth.__file__).parent

PUBLIC = [
    "ZOHO_DATA_CENTERS",
    "AccessDeniedError",
    "AccessToken",
    "AmbiguousConnectionError",
    "CRMClient",
    "CRMError",
    "Callback",
    "ConfigError",
    "Connection",
    "ConnectionInfo",
    "Credential",
    "CredentialKey",
    "DataCenter",
    "DataCenterError",
    "DataCenterNotEnabledError",
    "DataCenterRegistry",
    "DecryptionError",
    "Event",
    "EventBus",
    "EventType",
    "Health",
    "InvalidClientError",
    "InvalidDataError",
    "InvalidModuleError",
    "InvalidTokenError",
    "KeyRing",
    "LeaseTimeoutError",
    "Login",
    "LoginError",
    "LoginThrottledError",
    "LogoutResult",
    "ManagerConfig",
    "MixUpError",
    "NoPermissionError",
    "NotFoundError",
    "OAuthClient",
    "OrgInfo",
    "Page",
    "PendingLogin",
    "ProxyPathError",
    "RateLimitedError",
    "ReauthRequiredError",
    "RecordNotFoundError",
    "RevokeOutcome",
    "RevokeResult",
    "SDKFormatError",
    "SQLTokenStore",
    "ScopeMismatchError",
    "ServiceConfig",
    "ServiceError",
    "ServiceKey",
    "ServiceKeyError",
    "ServiceScopeError",
    "Settings",
    "StateMismatchError",
    "Status",
    "StoreError",
    "SyncCRMClient",
    "TLSVerificationError",
    "ThrottledError",
    "TokenError",
    "TokenManager",
    "TokenRejectedError",
    "TokenService",
    "TokenSet",
    "TokenStore",
    "TransportError",
    "TransportTimeout",
    "ZohoAuth",
    "ZohoAuthError",
    "ZohoHTTP",
    "ZohoUnavailableError",
    "__version__",
    "criteria",
]


def test_all_is_pinned() -> None:
    assert zohoauth.__all__ == PUBLIC


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(zohoauth, name) is not None
    assert name in dir(zohoauth)


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = zohoauth.nope  # type: ignore[attr-defined]


def test_public_subpackages_pin_their_all() -> None:
    import zohoauth.crm
    import zohoauth.sdk
    import zohoauth.store

    assert zohoauth.crm.__all__ == [
        "CRMClient",
        "Page",
        "Record",
        "SyncCRMClient",
        "check_fields",
        "criteria",
    ]
    assert zohoauth.sdk.__all__ == ["ZohoAuthTokenStore"]
    assert "SQLTokenStore" in zohoauth.store.__all__
    assert zohoauth.crm.CRMClient is zohoauth.CRMClient


def test_version_lives_in_one_place() -> None:
    from importlib.metadata import version

    assert version("zohoauth") == zohoauth.__version__


def test_import_is_lazy() -> None:
    """`import zohoauth` loads neither the store, the settings nor an HTTP client."""
    code = (
        "import sys, zohoauth; heavy = [m for m in ('sqlalchemy', 'pydantic', 'httpx', "
        "'aiohttp', 'fastapi', 'cryptography') if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# -- import rules -------------------------------------------------------------------------


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Modules `path` imports at run time (TYPE_CHECKING blocks excluded), made absolute."""
    tree = ast.parse(path.read_text())
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                found.add(base)
                for alias in node.names:
                    found.add(f"{base}.{alias.name}")
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    visit([child])

    visit(tree.body)
    return {m for m in found if m == "zohoauth" or m.startswith("zohoauth.")}


MODULES = {_module_name(p): _imports(p) for p in sorted(SRC.rglob("*.py"))}


def _layer(module: str) -> str:
    for layer in ("web", "cli", "emulator"):
        if module == f"zohoauth.{layer}" or module.startswith(f"zohoauth.{layer}."):
            return layer
    return "library"


def test_the_emulator_imports_nothing_from_the_library() -> None:
    bad = {
        (m, i)
        for m, imports in MODULES.items()
        if _layer(m) == "emulator"
        for i in imports
        if _layer(i) != "emulator" and i != "zohoauth"
    }
    assert bad == set()


def test_the_library_never_imports_web_cli_or_emulator() -> None:
    bad = {
        (m, i)
        for m, imports in MODULES.items()
        if _layer(m) == "library"
        for i in imports
        if _layer(i) != "library"
    }
    assert bad == set()


def test_no_circular_imports() -> None:
    """Every module imports cleanly as the first zohoauth module loaded (a cycle breaks that).

    One interpreter: before each module, every `zohoauth` module is dropped from `sys.modules`,
    so each import starts from nothing of ours while third-party packages stay loaded (the
    metrics registry is emptied too, as our metrics register themselves on import).
    """
    names = [m for m in MODULES if ".migrations." not in m]
    code = (
        "import importlib, sys\n"
        "from prometheus_client import REGISTRY\n"
        "for n in sys.argv[1:]:\n"
        "    for c in list(REGISTRY._collector_to_names):\n"
        "        REGISTRY.unregister(c)\n"
        "    for m in [m for m in sys.modules if m == 'zohoauth' or m.startswith('zohoauth.')]:\n"
        "        del sys.modules[m]\n"
        "    importlib.import_module(n)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, *names], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert importlib.import_module(names[-1]) is not None


#: Besides the top-level package's public names, the web app may import these modules of the
#: library (and their public names): the error tree, logging, and the CRM client package.
WEB_MAY_IMPORT = ("zohoauth.errors", "zohoauth.logs", "zohoauth.crm")
#: ZohoAuth's parts the facade wraps; the web app asks ZohoAuth instead of reaching in.
FACADE_INTERNALS = frozenset({"store", "manager"})


def _public_name_of(module: str, name: str) -> bool:
    exported = getattr(importlib.import_module(module), "__all__", None)
    return name in exported if exported is not None else not name.startswith("_")


def test_the_web_app_imports_only_the_librarys_public_surface() -> None:
    bad = set()
    for m, imports in MODULES.items():
        if _layer(m) != "web":
            continue
        for i in imports:
            if _layer(i) != "library" or i == "zohoauth" or i in WEB_MAY_IMPORT:
                continue
            if i.removeprefix("zohoauth.") in zohoauth.__all__:  # from .. import ZohoAuth
                continue
            base, _, name = i.rpartition(".")
            if base in WEB_MAY_IMPORT and _public_name_of(base, name):
                continue
            bad.add((m, i))
    assert bad == set()


def test_the_web_app_does_not_reach_into_the_facade() -> None:
    """No `auth.store`, `auth.manager` or another object's `_private` in the web package."""
    bad = set()
    for path in sorted((SRC / "web").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Attribute):
                continue
            private = node.attr.startswith("_") and not node.attr.startswith("__")
            own = isinstance(node.value, ast.Name) and node.value.id == "self"
            if node.attr in FACADE_INTERNALS or (private and not own):
                bad.add((path.name, node.lineno, ast.unparse(node)))
    assert bad == set()
