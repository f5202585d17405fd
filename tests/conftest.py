"""Shared fixtures: one local SparkSession for the whole run, the ../shared data folder, and a guard
that fails a test which starts a JVM without the `spark` marker (so `-m "not spark"` starts none)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the repository; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent: the shared data set lives beside the repository")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _jvm_only_when_marked(request, monkeypatch):
    """A test that is not marked spark cannot start Spark's JVM in this process."""
    if request.node.get_closest_marker("spark") is None:
        import pyspark.core.context

        def refuse(*args, **kwargs):
            raise AssertionError(f"{request.node.nodeid} starts a JVM: mark it @pytest.mark.spark")

        monkeypatch.setattr(pyspark.core.context, "launch_gateway", refuse)


@pytest.fixture(scope="session")
def spark():
    """One local[2] SparkSession for the test run (a JVM start costs ~10 s)."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from leakwatch.jobs.spark import SparkOptions, get_spark

    session = get_spark(SparkOptions(master="local[2]", driver_memory="2g", shuffle_partitions=4))
    yield session
    session.stop()
