"""Where TPR and FPR come from: a calibration file, or slices of the model card's calibration table;
and whether the pre-ChatGPT crawls (the negative control) fit the FPR used. No Spark."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from leakwatch.errors import StatsError
from leakwatch.estimators.options import StatsOptions
from leakwatch.schemas.calibration import Calibration, CalibrationFile
from leakwatch.udfs.classifier import default_model_path


@dataclass(frozen=True)
class CalibrationSummary:
    """The TP/FP counts the estimates were corrected with, their rates, and where they came from."""

    source: str
    threshold: float
    tp: int
    n_pos: int
    fp: int
    n_neg: int
    tpr: float
    fpr: float


@dataclass(frozen=True)
class NegativeControl:
    """Does a pre-ChatGPT crawl's flagged share fit the FPR used (within two standard errors)?"""

    raw_share: float
    fpr: float
    fits: bool


@dataclass(frozen=True)
class ResolvedCalibration:
    """TPR and FPR counts at one threshold, and a label saying where they came from."""

    threshold: float
    counts: Calibration
    label: str

    def summary(self) -> CalibrationSummary:
        """What the stats stage reports of it."""
        c = self.counts
        return CalibrationSummary(source=self.label, threshold=self.threshold, tp=c.true_positives, n_pos=c.positives,
                                  fp=c.false_positives, n_neg=c.negatives, tpr=round(c.tpr, 4), fpr=round(c.fpr, 4))


def is_calibration_file(calibration: str) -> bool:
    """True when the calibration setting names a file rather than a card slice."""
    return calibration.endswith(".json") or "/" in calibration


def from_file(data: CalibrationFile, path: str, threshold: float | None) -> ResolvedCalibration:
    """The counts of a calibration file, which hold at its own threshold only."""
    if threshold is not None and not math.isclose(threshold, data.threshold):
        raise StatsError(f"--flag-threshold {threshold} differs from the threshold {data.threshold} of calibration "
                         f"file {path}: its counts hold at its own threshold only; drop --flag-threshold")
    return ResolvedCalibration(threshold=data.threshold, counts=data.counts, label=f"file:{path} ({data.source})")


def find_card(model_id: str, options: StatsOptions, model_path: str | None) -> tuple[dict, str]:
    """(card, path) of the model card whose model_id is `model_id`: --card, else beside the models."""
    if options.card:
        candidates = [Path(options.card)]
    else:
        folders = {default_model_path().parent}
        if model_path:
            folders.add(Path(model_path).parent)
        candidates = sorted(p for folder in folders if folder.is_dir() for p in folder.glob("*.card.json"))
    for path in candidates:
        try:
            card = json.loads(path.read_text("utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            if options.card:
                raise StatsError(f"model card {path} cannot be read: {exc}") from exc
            continue
        if card.get("model", {}).get("model_id") == model_id:
            return card, str(path)
        if options.card:
            raise StatsError(f"model card {path} is for model {card.get('model', {}).get('model_id')}, but the "
                             f"scores come from {model_id}: pass that model's card")
    raise StatsError(
        f"no model card for {model_id} (the model that produced the scores) among "
        f"{', '.join(map(str, candidates)) or 'no *.card.json files'}: pass --card PATH, or --calibration FILE "
        f"with that model's TPR/FPR counts"
    )


def _slice_row(card: dict, card_path: str, name: str, threshold: float) -> dict:
    slices = card.get("calibration", {}).get("slices", {})
    if name not in slices:
        raise StatsError(f"calibration slice {name!r} is not in {card_path}; slices: {', '.join(sorted(slices))}")
    for row in slices[name]:
        if math.isclose(row["threshold"], threshold):
            return row
    known = ", ".join(f"{r['threshold']:g}" for r in slices[name])
    raise StatsError(f"threshold {threshold:g} is not in slice {name!r} of {card_path}; pass one of: {known}")


def card_calibration(card: dict, card_path: str, options: StatsOptions) -> ResolvedCalibration:
    """TPR from slice `options.calibration` and FPR from `options.fpr_slice` of a card, at the threshold."""
    threshold = options.flag_threshold if options.flag_threshold is not None else card["operating_threshold"]["value"]
    tpr_row = _slice_row(card, card_path, options.calibration, threshold)
    fpr_name = options.calibration if options.fpr_slice in ("same", "", options.calibration) else options.fpr_slice
    fpr_row = _slice_row(card, card_path, fpr_name, threshold)
    if not tpr_row["n_pos"]:
        raise StatsError(f"slice {options.calibration!r} of {card_path} has no LLM texts, so no TPR: "
                         "pass another --calibration slice")
    if not fpr_row["n_neg"]:
        raise StatsError(f"slice {fpr_name!r} of {card_path} has no human texts, so no FPR: pass another --fpr-slice")
    label = f"card:{card['model']['model_id']} tpr:{options.calibration} fpr:{fpr_name} @ {threshold:g}"
    return ResolvedCalibration(
        threshold=float(threshold),
        counts=Calibration(tpr_row["tp"], tpr_row["n_pos"], fpr_row["fp"], fpr_row["n_neg"]),
        label=label,
    )


def check_can_correct(resolved: ResolvedCalibration) -> ResolvedCalibration:
    """The calibration, if its flags carry a signal to correct (TPR > FPR); StatsError otherwise."""
    if resolved.counts.tpr <= resolved.counts.fpr:
        raise StatsError(f"TPR {resolved.counts.tpr:.3f} <= FPR {resolved.counts.fpr:.3f} ({resolved.label}): "
                         "the flags carry no signal to correct; choose another --flag-threshold or calibration")
    return resolved


def negative_control(headline: pd.DataFrame, calibration: ResolvedCalibration) -> dict[str, NegativeControl]:
    """Per pre-ChatGPT crawl: does its flagged share fit the FPR (within 2 standard errors of both counts)?"""
    fpr, n_neg = calibration.counts.fpr, calibration.counts.negatives
    checks = {}
    for row in headline[headline.pre_chatgpt & (headline.n_scored > 0)].itertuples():
        # Binomial errors of the crawl's share and of the calibration's FPR, without site clustering (which
        # would widen them): a strict check, meant to warn early.
        error = math.sqrt(fpr * (1 - fpr) * (1 / n_neg + 1 / row.n_scored)) or 1 / row.n_scored
        checks[row.crawl] = NegativeControl(raw_share=float(row.raw_share), fpr=fpr,
                                            fits=bool(abs(row.raw_share - fpr) <= 2 * error))
    return checks
