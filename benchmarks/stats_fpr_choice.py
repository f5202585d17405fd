"""Why stats takes FPR from web pages by default: estimate all-human web sites with either FPR.

1,000 simulated sites of 10 human pages each, flagged at the rate the shipped model flags real
pre-ChatGPT web pages (20.5%, its card's `source:web-cc2019` slice); prevalence and its bootstrap
CI with TPR from the card's `overall` slice and FPR from `overall` (research corpora's human text)
or from `source:web-cc2019`. The truth is 0.

    python -m benchmarks.stats_fpr_choice [--sites 1000] [--pages 10] [--seed 0]
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from leakwatch.estimators.adjusted_cc import estimate_prevalence
from leakwatch.schemas.calibration import Calibration
from leakwatch.udfs.classifier import default_model_path


def main() -> None:
    """Print the estimate and CI under each FPR choice."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    card = json.loads(default_model_path().with_name("leakwatch-llm-v1.card.json").read_text())
    threshold = card["operating_threshold"]["value"]
    rows = {name: next(r for r in card["calibration"]["slices"][name] if r["threshold"] == threshold)
            for name in ("overall", "source:web-cc2019")}
    web_fpr = rows["source:web-cc2019"]["fp"] / rows["source:web-cc2019"]["n_neg"]
    rng = np.random.default_rng(args.seed)
    docs = np.full(args.sites, args.pages)
    flagged = rng.binomial(args.pages, web_fpr, args.sites)
    tp, n_pos = rows["overall"]["tp"], rows["overall"]["n_pos"]
    for name, row in rows.items():
        est = estimate_prevalence(docs, flagged, Calibration(tp, n_pos, row["fp"], row["n_neg"]), seed=args.seed)
        print(f"FPR from {name} ({row['fp']}/{row['n_neg']}): raw {est.raw_share:.1%}, "
              f"estimate {est.prevalence:.1%}, 95% CI {est.ci_low:.1%}-{est.ci_high:.1%} (truth 0%)")


if __name__ == "__main__":
    main()
