"""The repository stands alone: its files cite only what ships with it.

Facts about Zoho are cited from `docs/zoho-reference.md` by section (`§5`, `§6.3`, ...). No
tracked file may point into the team's folder outside the repository, name the team's design
notes, use the old bracketed source tags (a confidence letter and a source key, like `D A9`),
or cite a section that `docs/zoho-reference.md` does not have.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = "docs/zoho-reference.md"

#: Reads a folder outside the repository on purpose (Zoho's OpenAPI files, when CI has them).
EXEMPT = frozenset({"tests/emulator/test_crm_conformance.py"})

# The patterns are assembled so that this file does not match itself.
OUTSIDE = re.compile(re.escape("../" + "shared") + "|" + re.escape("shared/" + "reference"))
OLD_CITATIONS = re.compile(
    "|".join(
        [
            re.escape("DESIGN" + ".md"),
            r"\bUI" + re.escape(".md"),
            # zoho-api, official-sdk, peers: the earlier fact sheets' file names
            r"\b(?:zoho-api|official-sdk|peers)" + re.escape(".md"),
            # bracketed source tags, e.g. D A9 or S C8 in brackets; not `list[S]` (a type)
            r"(?<![\w\]])\[(?:D|S|O|3P)(?:[ -][^\]\n]*)?\]",
            # a bare section number in brackets, which cited the earlier fact sheet
            r"\[§[0-9]",
        ]
    )
)
# Paths exempt from the citation check (none: the emulator's citations were rewritten too).
OLD_CITATIONS_NOT_CHECKED_YET: tuple[str, ...] = ()

SECTION = r"§([0-9]+[a-z]?(?:\.[0-9]+)?)"
HEADING = re.compile(rf"^#{{1,6}} {SECTION}\b", re.MULTILINE)
CITATION = re.compile(re.escape("zoho-reference.md") + rf"\)?\s*({SECTION}(?:\s*,\s*{SECTION})*)")
# Inside the reference itself sections are cited bare; RFC sections are someone else's.
BARE = re.compile(rf"(?<!RFC )(?<!RFC [0-9]{{4}} ){SECTION}")


def tracked_files() -> dict[str, str]:
    """Path -> text of every tracked text file (binary files are left out)."""
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the tracked files are unknown")
    listed = subprocess.run(
        [git, "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    texts: dict[str, str] = {}
    for path in filter(None, listed.split("\0")):
        try:
            data = (ROOT / path).read_bytes()
        except OSError:  # deleted in the work tree, not yet committed
            continue
        if b"\0" not in data:
            texts[path] = data.decode("utf-8", errors="replace")
    return texts


@pytest.fixture(scope="module")
def files() -> dict[str, str]:
    return tracked_files()


def sections() -> set[str]:
    return set(HEADING.findall((ROOT / REFERENCE).read_text(encoding="utf-8")))


def offenders(
    files: dict[str, str], pattern: re.Pattern[str], skip: tuple[str, ...] = ()
) -> list[str]:
    found = []
    for path, text in sorted(files.items()):
        if path in EXEMPT or path.startswith(skip):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            match = pattern.search(line)
            if match:
                found.append(f"{path}:{number}: {match.group(0)!r}")
    return found


def test_the_reference_has_numbered_sections() -> None:
    numbers = sections()
    # The numbers code and docs rely on; each stays where it is once published.
    assert {"1", "2", "2a", "2b", "2c", "3", "4", "5", "6", "6.1", "6.3", "6.5", "10"} <= numbers


def test_nothing_points_outside_the_repository(files: dict[str, str]) -> None:
    assert offenders(files, OUTSIDE) == []


def test_no_old_style_citations(files: dict[str, str]) -> None:
    assert offenders(files, OLD_CITATIONS, OLD_CITATIONS_NOT_CHECKED_YET) == []


def test_every_cited_section_exists(files: dict[str, str]) -> None:
    known = sections()
    missing = []
    for path, text in sorted(files.items()):
        if path == REFERENCE:
            cited = BARE.findall(text)
        else:
            cited = [n for m in CITATION.finditer(text) for n in re.findall(SECTION, m.group(1))]
        missing += [f"{path}: §{n}" for n in cited if n not in known]
    assert missing == []


def test_the_checks_catch_what_they_are_for() -> None:
    """The patterns themselves: each old form is caught, ordinary code is not."""
    o = "["  # split off, so that this file passes its own check
    caught = [
        "see ../" + "shared/x",
        "# hosts " + o + "D A9, S C8]",
        "errors are bodies " + o + "O]",
        "limits " + o + "3P]",
        "search " + o + "D v8 search-records]",
        "batch size " + o + "§6.3]",
        "as " + "DESIGN" + ".md lists it",
        "(" + "official-sdk" + ".md)",
    ]
    assert [t for t in caught if not (OUTSIDE.search(t) or OLD_CITATIONS.search(t))] == []
    fine = ["x: list[S] = []", "Mapping[O, D]", "(docs/zoho-reference.md §6.3)", "RFC 9700 §4.4"]
    assert [t for t in fine if OUTSIDE.search(t) or OLD_CITATIONS.search(t)] == []
    cited = CITATION.search("(docs/zoho-reference.md §6.5, §8)")
    assert cited is not None and cited.group(1) == "§6.5, §8"
