"""Start-up: how long a fresh Python process takes to `import zohoauth`, to print
`zohoauth --help`, and to import the official SDK, in the same run.

Every command runs in a fresh subprocess (the interpreter of this run, `-I` is not used so the
project's environment is the one users get), warm: each is run once unmeasured first, so its
bytecode is cached (installs compile it, see `compile-bytecode` in pyproject.toml) and the files
are in the page cache. Then `runs` rounds, the commands interleaved in each round so a burst of
other work on the shared machine hits them alike; a figure is the wall time from spawn to exit
(`<name>_s`, the target's measure), and the child's own CPU (`<name>_cpu_s`, user + system,
which other work on a shared machine hardly moves), each the median with its spread.

The commands:

- `python -c pass`: the interpreter alone, the floor under every other line;
- `import zohoauth`: the package (its names load lazily, on first access);
- `from zohoauth import ZohoAuth`: what an application's first line loads (the facade, the
  store, SQLAlchemy, pydantic): not a target, shown so the lazy package is not mistaken for the
  cost of using it;
- `zohoauth --help`: the console script, as a user types it;
- `import typer`: Typer with its click and rich, the CLI framework alone (what `--help` cannot
  go below without replacing it);
- the SDK: `from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer`, the first
  line of every program that uses it (`zohocrmsdk8-0`; the older `zcrmsdk` is its predecessor
  and not installed).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ._common import spread

SDK_IMPORT = "from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer"


def commands(sdk: bool) -> dict[str, list[str]]:
    """Name -> argv, in the order each round runs them."""
    python = sys.executable
    script = Path(python).with_name("zohoauth")
    help_cmd = [str(script), "--help"] if script.exists() else [python, "-m", "zohoauth", "--help"]
    out = {
        "python": [python, "-c", "pass"],
        "import_zohoauth": [python, "-c", "import zohoauth"],
        "import_zohoauth_facade": [python, "-c", "from zohoauth import ZohoAuth"],
        "zohoauth_help": help_cmd,
        "import_typer": [python, "-c", "import typer"],
    }
    if sdk:
        out["sdk_import"] = [python, "-c", SDK_IMPORT]
    return out


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run: the child is waited for, so the difference in the
    children's rusage is its CPU alone, which other work on a shared machine hardly moves."""
    cpu = _children_cpu()
    started = time.perf_counter()
    subprocess.run(
        argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60
    )
    return time.perf_counter() - started, _children_cpu() - cpu


def run(runs: int, sdk_skip: str | None) -> dict[str, Any]:
    """Each command `runs` times, interleaved, after one warm-up run; seconds per start."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    # The help text's width must not depend on the terminal the bench runs in.
    env["COLUMNS"] = "100"
    cmds = commands(sdk_skip is None)
    for argv in cmds.values():  # warm: bytecode written, files cached
        _once(argv, env)
    samples: dict[str, list[float]] = {name: [] for name in cmds}
    cpu: dict[str, list[float]] = {name: [] for name in cmds}
    for n in range(runs):
        for name, argv in cmds.items():
            wall, used = _once(argv, env)
            samples[name].append(wall)
            cpu[name].append(used)
        print(
            f"  startup {n + 1}/{runs}: "
            + ", ".join(f"{k} {v[-1] * 1000:.0f} ms" for k, v in samples.items()),
            file=sys.stderr,
        )
    out: dict[str, Any] = {
        "runs": runs,
        "commands": {
            name: " ".join(Path(a).name if i == 0 else a for i, a in enumerate(argv))
            for name, argv in cmds.items()
        },
        "samples_s": samples,
        "cpu_samples_s": cpu,
    }
    for name, values in samples.items():
        out[f"{name}_s"] = spread(values)
        out[f"{name}_cpu_s"] = spread(cpu[name])
    if sdk_skip is not None:
        out["skipped_sdk"] = sdk_skip
    return out
