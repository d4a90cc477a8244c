"""The comparison's results as one JSON document, a text table, PNG plots and a markdown page.

One module per job, pure data in and files out (tests run it all on a synthetic result):

- `summary`: the workloads' raw results into the published document (`summarize`, `dumps`,
  `missing_keys`);
- `targets`: each target a pure function of that document, met or missed;
- `notes`: what limited each workload, in words chosen by the numbers (`auto_notes`);
- `tables`: the tables as rows, and the text report printed after a run;
- `plots`: the PNGs (matplotlib);
- `render`: the page from `templates/benchmarks.md`, written with its plots and results.json
  (`write_report`), or rendered again from a results.json (`load_results`);
- `text`: number formatting and the templates (`templates/pieces.md`: the page's sentences).
"""

from __future__ import annotations

from .notes import auto_notes
from .plots import plots
from .render import load_results, markdown, write_report
from .summary import REQUIRED_KEYS, dumps, get, missing_keys, summarize, summarize_lookup
from .tables import text_report
from .targets import TARGETS, targets

__all__ = [
    "REQUIRED_KEYS",
    "TARGETS",
    "auto_notes",
    "dumps",
    "get",
    "load_results",
    "markdown",
    "missing_keys",
    "plots",
    "summarize",
    "summarize_lookup",
    "targets",
    "text_report",
    "write_report",
]
