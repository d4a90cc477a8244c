"""The README stays true and self-contained: two-command quick start, links and paths that exist
in the repository, and the CLI commands and flags it lists as `--help` shows them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from zohoauth.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_quick_start_is_two_commands() -> None:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```console\n(.*?)```", section, re.DOTALL)
    assert block is not None
    assert block.group(1).splitlines() == ["uv run zohoauth demo", "uv run pytest"]


def test_no_link_leaves_the_repository() -> None:
    """Every Markdown link is a file of the repository (no web links: the repository stands
    alone, and a reader offline can follow each)."""
    targets = re.findall(r"\]\(([^)\s]+)\)", README) + re.findall(r"<(https?://[^>]+)>", README)
    assert targets, "the README links to files of the repository"
    for target in targets:
        assert not re.match(r"[a-z]+:", target), target
        path = target.split("#", 1)[0]
        assert not path or (ROOT / path).exists(), target


def test_source_paths_are_the_repositorys() -> None:
    """A module named by path is named from the repository root (`src/zohoauth/...`)."""
    for path in re.findall(r"(?<![\w/])((?:src/)?zohoauth/[\w/]+\.py)", README):
        assert path.startswith("src/"), path
        assert (ROOT / path).is_file(), path


def test_the_readme_tells_what_a_new_user_needs() -> None:
    flat = " ".join(README.split())
    # How the CLI reaches the demo's data, and how a web user adds a second org.
    assert "The demo's data from the CLI" in flat and "--data-dir" in flat
    assert "Connecting a second org" in flat and "Setup → Company Details" in flat
    # What a restart of the demo loses: the emulator's grants and its records.
    assert "a restart loses both **the grants**" in flat and "**the records**" in flat
    # Several accounts, Reconnect's hint (and that Zoho may ignore it), every web error code.
    assert "Log out of all accounts" in flat and "who is active now" in flat
    assert "login_hint" in flat and "*Uncertain:* Zoho's authorization docs" in flat
    for code in ("app_misconfigured", "already_connected", "unknown_org", "store_unavailable"):
        assert f"`{code}`" in flat, code


COMMAND_ROW = re.compile(r"^\| `(zohoauth [^`]+)`", re.MULTILINE)


def _listed_commands() -> list[tuple[list[str], list[str]]]:
    """(command words, flags) of each row of the README's command tables."""
    rows = []
    for line in COMMAND_ROW.findall(README):
        words = line.split()[1:]
        command = []
        for word in words:
            if not re.fullmatch(r"[a-z][a-z-]*", word):
                break
            command.append(word)
        rows.append((command, re.findall(r"--[a-z][a-z-]*", line)))
    return rows


@pytest.mark.parametrize(("command", "flags"), _listed_commands())
def test_each_command_the_readme_lists_has_the_flags_it_lists(
    command: list[str], flags: list[str]
) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for flag in flags:
        assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", result.output), (command, flag)
