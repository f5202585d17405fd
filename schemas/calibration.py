"""The calibration file: a classifier's TP and FP counts at one threshold, from which stats takes TPR and FPR.

`{"source", "threshold", "tp", "n_pos", "fp", "n_neg"}`, exactly these keys: written by `leakwatch
validate` and `leakwatch demo` (`write_calibration`), read by `leakwatch stats --calibration FILE`
(`parse_calibration`). The one place that knows the format.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from leakwatch.errors import ConfigError, StatsError

FILE_KEYS = ("source", "threshold", "tp", "n_pos", "fp", "n_neg")


@dataclass(frozen=True)
class Calibration:
    """Counts behind a classifier's TPR and FPR at its operating threshold."""

    true_positives: int
    positives: int
    false_positives: int
    negatives: int

    @property
    def tpr(self) -> float:
        """Share of LLM texts flagged."""
        return self.true_positives / self.positives

    @property
    def fpr(self) -> float:
        """Share of human texts flagged."""
        return self.false_positives / self.negatives


@dataclass(frozen=True)
class CalibrationFile:
    """What a calibration file holds: where the counts come from, their threshold, the counts."""

    source: str
    threshold: float
    counts: Calibration


def parse_calibration(text: str, path: str) -> CalibrationFile:
    """A calibration file's content, checked; StatsError names the file and what is wrong."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StatsError(f"calibration file {path} is not JSON: {exc}") from exc
    if not isinstance(data, dict) or set(data) != set(FILE_KEYS):
        found = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise StatsError(f"calibration file {path} must have exactly the keys {sorted(FILE_KEYS)}; found {found}")
    counts = {k: data[k] for k in ("tp", "n_pos", "fp", "n_neg")}
    if not all(isinstance(v, int) and v >= 0 for v in counts.values()) or not (
        counts["n_pos"] > 0 and counts["n_neg"] > 0 and counts["tp"] <= counts["n_pos"]
        and counts["fp"] <= counts["n_neg"]
    ):
        raise StatsError(f"calibration file {path}: tp, n_pos, fp, n_neg must be counts with 0 <= tp <= n_pos, "
                         f"0 <= fp <= n_neg and n_pos, n_neg > 0; found {counts}")
    return CalibrationFile(
        source=data["source"],
        threshold=float(data["threshold"]),
        counts=Calibration(counts["tp"], counts["n_pos"], counts["fp"], counts["n_neg"]),
    )


def write_calibration(path: Path, counts: dict, source: str) -> Path:
    """Write counts {"threshold", "tp", "n_pos", "fp", "n_neg"} as a calibration file; refuses counts that
    cannot correct (TPR not above FPR)."""
    data = {"source": source, "threshold": counts["threshold"], "tp": counts["tp"], "n_pos": counts["n_pos"],
            "fp": counts["fp"], "n_neg": counts["n_neg"]}
    if not data["n_pos"] or not data["n_neg"] or data["tp"] / data["n_pos"] <= data["fp"] / data["n_neg"]:
        raise ConfigError(f"{source}: {data['tp']}/{data['n_pos']} LLM and {data['fp']}/{data['n_neg']} human "
                          "scored texts flagged: TPR must exceed FPR to correct; use more calibration data")
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return path
