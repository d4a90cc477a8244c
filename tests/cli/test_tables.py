"""Tables: ids stay whole on one line, piped (tab-separated) or on an 80-column terminal, and
every command that prints a table has `--json` for scripts."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from typing import Any

import pytest
from typer.testing import CliRunner

from zohoauth.cli import app

from ..support.cli import Env, listed
from ..support.web import zohoauth_command

AVA, CLARA, DEV = "ava@zylker.com", "clara@brightwave.eu", "dev@sunrise.in"
ANSI = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]")


@pytest.fixture
def ids(env: Env) -> list[str]:
    """Three users logged in; their connection ids."""
    return [c.id for c in env.login(AVA, CLARA, DEV)]


def on_a_terminal(env: Env, *args: str, columns: int = 80) -> list[str]:
    """`zohoauth *args` in a real pseudo-terminal `columns` wide: its lines, colours removed."""
    import fcntl
    import struct
    import termios

    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    variables = {k: v for k, v in os.environ.items() if not k.startswith("ZOHOAUTH_")}
    variables.update(env.vars, COLUMNS=str(columns), TERM="xterm-256color")
    variables.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [*zohoauth_command(), *args], stdin=child, stdout=child, stderr=child, env=variables
    )
    os.close(child)
    chunks = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not select.select([main], [], [], 1)[0]:
            continue
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main)
    assert proc.wait(timeout=60) == 0, b"".join(chunks).decode()
    text = ANSI.sub("", b"".join(chunks).decode())
    return text.replace("\r\n", "\n").splitlines()


def test_piped_tokens_list_is_one_tab_separated_line_per_connection(
    env: Env, ids: list[str]
) -> None:
    narrow = env.cli("tokens", "list")  # CliRunner's stdout is not a terminal
    assert narrow.exit_code == 0, narrow.output
    header, *rows = narrow.stdout.splitlines()
    assert header.split("\t") == [
        "email",
        "org",
        "DC",
        "status",
        "expires in",
        "last refresh",
        "last used",
        "connection",
    ]
    assert sorted(row.split("\t")[-1] for row in rows) == sorted(ids)
    assert all(len(row.split("\t")) == 8 for row in rows)
    assert "│" not in narrow.stdout and "\x1b[" not in narrow.stdout  # no box, no colour


def test_piped_output_does_not_depend_on_the_terminal_width(env: Env, ids: list[str]) -> None:
    wide = env.cli("tokens", "list").stdout  # COLUMNS=200
    narrow = CliRunner().invoke(app, ["tokens", "list"], env={**env.vars, "COLUMNS": "80"})
    assert narrow.exit_code == 0, narrow.output
    assert narrow.stdout == wide
    shown = env.cli("tokens", "show", ids[1])
    assert f"connection\t{ids[1]}" in shown.stdout.splitlines()


def test_on_an_80_column_terminal_every_id_stays_whole(env: Env, ids: list[str]) -> None:
    lines = on_a_terminal(env, "tokens", "list")
    for conn_id in ids:
        assert any(conn_id in line for line in lines), (conn_id, lines)
    assert all(len(line) <= 80 for line in lines), lines
    wide = on_a_terminal(env, "tokens", "list", columns=200)
    assert "3 connection(s)" in wide[0]
    rows = [line for line in wide if "conn_" in line]
    assert len(rows) == 3 and all(line.split()[-1] in ids for line in rows)  # a table, a row each


def test_every_table_has_json(env: Env, ids: list[str]) -> None:
    def as_json(*args: str) -> Any:
        result = env.cli(*args, "--json")
        assert result.exit_code == 0, (args, result.output)
        return json.loads(result.stdout)

    assert [r["connection_id"] for r in listed(env)] == ids
    assert as_json("tokens", "show", ids[0])["email"] == AVA
    status = as_json("keys", "status")
    assert status[0]["credentials"] == 3 and status[0]["active"] is True
    created = env.cli("keys", "service", "create", "--name", "billing", "--scope", "read")
    assert created.exit_code == 0, created.output
    keys = as_json("keys", "service", "list")
    assert [(k["name"], k["scope"]) for k in keys] == [("billing", "read")]
    table = env.cli("keys", "service", "list").stdout.splitlines()
    assert table[1].split("\t")[0] == keys[0]["id"]  # piped: the id whole, first
    added = env.cli("webhooks", "add", "https://hooks.example.com/zoho")
    assert added.exit_code == 0, added.output
    hooks = as_json("webhooks", "list")
    assert [h["url"] for h in hooks] == ["https://hooks.example.com/zoho"]
    assert "secret" not in json.dumps(hooks)
    assert isinstance(as_json("webhooks", "deliveries"), list)
    assert isinstance(as_json("audit"), list)
    assert as_json("doctor", "--no-network")["ok"] is True


def test_choices_are_checked_before_anything_runs(env: Env) -> None:
    bad = env.cli("keys", "service", "create", "--name", "x", "--scope", "everything")
    assert bad.exit_code == 2
    assert "'read', 'token', 'proxy', 'admin'" in bad.stderr
    status = env.cli("tokens", "list", "--status", "gone")
    assert (
        status.exit_code == 2 and "'active', 'reauth_required', 'revoke_pending'" in status.stderr
    )


def test_a_table_cell_is_text_not_markup() -> None:
    """An org or key name like "[bold]x" is printed as typed, on a terminal too."""
    code = (
        "import sys\n"
        "from rich.console import Console\n"
        "import zohoauth.cli\n"
        "from zohoauth.cli.tables import print_table\n"
        "app = sys.modules['zohoauth.cli.app']\n"
        "app.console._console = Console(force_terminal=True, width=80, color_system=None)\n"
        "print_table(['name', 'id'], [['[bold]x[/bold]', 'conn_1']], title='t')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "[bold]x[/bold]" in out.stdout
