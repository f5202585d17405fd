"""The run manifest of a run that ends in an error: written when it can be, and never hiding the error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leakwatch.config import Config
from leakwatch.jobs.manifest import RunManifest


@pytest.mark.spark
def test_an_error_is_recorded_and_a_lost_jvm_does_not_hide_it(spark, tmp_path, monkeypatch, capsys):
    config = Config().replace({"warehouse": str(tmp_path / "wh")})
    manifest = RunManifest(spark, config, "run")
    manifest.record_error(ValueError("bad input"))
    data = json.loads(Path(manifest.path).read_text())
    assert (data["status"], data["error"]) == ("error", "ValueError: bad input")

    def gone() -> None:  # what writing through py4j does once Ctrl-C has ended the JVM
        raise ConnectionRefusedError("the JVM is gone")

    monkeypatch.setattr(manifest, "save", gone)
    manifest.record_error(KeyboardInterrupt())  # quiet: the CLI says "interrupted"
    assert capsys.readouterr().err == ""
    manifest.record_error(RuntimeError("stage failed"))
    assert "could not record the error (ConnectionRefusedError)" in capsys.readouterr().err
