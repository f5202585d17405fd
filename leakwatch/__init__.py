"""leakwatch: how much of the open web is LLM-written, crawl by crawl.

One namespace: `leakwatch.jobs` (Spark jobs), `leakwatch.udfs` (per-record functions, no Spark),
`leakwatch.schemas` (tables and value sets), `leakwatch.models` (the shipped classifier), and the
modules here that are neither Spark jobs nor per-record functions.
"""

import subprocess
from pathlib import Path

__version__ = "0.1.0"


def code_version() -> str:
    """leakwatch's version, plus the git short hash of the checkout when there is one."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).resolve().parent,
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return __version__
    return f"{__version__}+g{out.stdout.strip()}" if out.returncode == 0 and out.stdout.strip() else __version__
