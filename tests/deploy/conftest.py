"""What the packaging tests need, built by `make` when the first of them runs (once; make rebuilds only what
changed since), so that a test run without them (make test-fast, pytest -m "not packaging", one test file)
builds nothing. The build's output goes to a log; a failed build fails the test with the log's last lines."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent
STAMP = REPO / ".venv" / ".installed"


def _make(target: str, made: Path, log: Path) -> Path:
    if not shutil.which("make"):
        pytest.skip(f"`make` is not installed, and {made.relative_to(REPO)} is built by `make {target}`")
    # Never the venv these tests run in, even if pyproject.toml changed since it was built: make test builds it first.
    keep_venv = ["-o", str(STAMP.relative_to(REPO))] if STAMP.exists() else []
    with open(log, "w") as out:
        built = subprocess.run(["make", "-s", *keep_venv, target], cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                               timeout=1800)
    if built.returncode:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        pytest.fail(f"`make {target}` failed (exit {built.returncode}); the end of {log}:\n{tail}")
    return made


@pytest.fixture(scope="session")
def env_archive(tmp_path_factory) -> Path:
    """dist/leakwatch-env.tar.gz, the environment archive spark-submit ships (`make dist`)."""
    return _make("dist", REPO / "dist" / "leakwatch-env.tar.gz", tmp_path_factory.mktemp("make") / "dist.log")


@pytest.fixture(scope="session")
def airflow_python(tmp_path_factory) -> Path:
    """The interpreter of Airflow's own venv (`make .venv-airflow/.installed`)."""
    _make(".venv-airflow/.installed", REPO / ".venv-airflow" / ".installed",
          tmp_path_factory.mktemp("make") / "airflow.log")
    return REPO / ".venv-airflow" / "bin" / "python"
