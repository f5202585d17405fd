"""A model card with a calibration table, written in tmp_path, for the stats and calibration tests."""

from __future__ import annotations

import json

MODEL = "sha256:0123456789abcdef"


def write_card(path, model: str = MODEL) -> str:
    """A model card with a calibration table at two thresholds; operating threshold 0.5."""
    def row(threshold, n_pos, tp, n_neg, fp):
        return {"threshold": threshold, "n_pos": n_pos, "n_neg": n_neg, "tp": tp, "fp": fp,
                "tpr": tp / n_pos if n_pos else None, "fpr": fp / n_neg}
    card = {
        "model": {"model_id": model},
        "operating_threshold": {"value": 0.5},
        "calibration": {"thresholds": [0.5, 0.8], "slices": {
            "overall": [row(0.5, 400, 300, 300, 30), row(0.8, 400, 150, 300, 6)],
            "source:web-cc2019": [row(0.5, 0, 0, 100, 20), row(0.8, 0, 0, 100, 9)],
        }},
    }
    path.write_text(json.dumps(card), encoding="utf-8")
    return str(path)
