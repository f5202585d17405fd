"""How much `leakwatch validate`'s bias depends on its calibration/injection split, without Spark.

Every held-out labelled text is rendered as a page, extracted and scored once; then, for each
split seed, TPR and FPR are counted on each half, and the bias the calibration half's rates give
on a crawl made of the other half's texts at LLM share p is (p*TPR_b + (1-p)*FPR_b - FPR_a) /
(TPR_a - FPR_a) - p (clipped at 0 for p = 0, as the estimator clips). Needs ../shared/data.

Run: .venv/bin/python -m benchmarks.validate_splits [--seeds 20]
Writes benchmarks/out/validate_splits.json and prints a summary.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from leakwatch.config import Config
from leakwatch.training.corpus import DEFAULT_DATA, read_corpus
from leakwatch.udfs.classifier import score_frame
from leakwatch.validation.inject import CALIBRATION, split_half
from leakwatch.validation.measure import extracted_text, model_threshold, scorable_inputs

SHARES = (0.0, 0.35)


def main() -> None:
    """Score the held-out texts once, then measure each split seed's bias at SHARES."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--labeled", default=str(DEFAULT_DATA))
    args = parser.parse_args()
    model, threshold = model_threshold(Config())
    examples = [e for e in read_corpus(Path(args.labeled)) if e.heldout]
    pages = [extracted_text(e.text, f"splits:{i}") for i, e in enumerate(examples)]
    languages, n_words = scorable_inputs(pages)
    frame = score_frame(pages, languages, n_words, model)
    scored = frame["scored"].to_numpy(bool)
    flagged = scored & (frame["p_llm"].fillna(-1.0).to_numpy() >= threshold)
    llm = np.array([e.llm for e in examples])

    def rates(mask: np.ndarray) -> tuple[float, float]:
        return (flagged & mask & llm).sum() / (scored & mask & llm).sum(), \
            (flagged & mask & ~llm).sum() / (scored & mask & ~llm).sum()

    rows = []
    for seed in range(args.seeds):
        calibration = np.array([split_half(e.group, seed) == CALIBRATION for e in examples])
        (tpr_a, fpr_a), (tpr_b, fpr_b) = rates(calibration), rates(~calibration)
        bias = {}
        for p in SHARES:
            estimate = max(0.0, (p * tpr_b + (1 - p) * fpr_b - fpr_a) / (tpr_a - fpr_a))
            bias[str(p)] = round(estimate - p, 4)
        rows.append({"seed": seed, "tpr_calibration": round(tpr_a, 4), "fpr_calibration": round(fpr_a, 4),
                     "tpr_injection": round(tpr_b, 4), "fpr_injection": round(fpr_b, 4), "bias": bias})
    summary = {}
    for p in SHARES:
        b = np.array([r["bias"][str(p)] for r in rows])
        summary[str(p)] = {"mean_abs_bias": round(float(np.abs(b).mean()), 4),
                           "share_within_1pp": round(float((np.abs(b) <= 0.01).mean()), 3),
                           "share_within_2pp": round(float((np.abs(b) <= 0.02).mean()), 3)}
    fpr = np.array([r["fpr_calibration"] for r in rows] + [r["fpr_injection"] for r in rows])
    result = {"threshold": threshold, "n_heldout": len(examples), "seeds": args.seeds,
              "fpr_half_range": [float(fpr.min()), float(fpr.max())], "summary": summary, "rows": rows}
    out = Path(__file__).parent / "out" / "validate_splits.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}, indent=1))


if __name__ == "__main__":
    main()
