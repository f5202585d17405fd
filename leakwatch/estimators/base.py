"""What a prevalence estimator is, and the registry that names them.

An estimator is a small class with a versioned name (a new version whenever the same input would
give other numbers), registered with `@register`: the stats job finds it by the name its `estimator`
setting gives and calls it once per stats row, with the row's pages counted per cluster (registered
domain), seeded from the row's key so a rerun gives identical rows.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from leakwatch.errors import ConfigError
from leakwatch.schemas.calibration import Calibration


@dataclass(frozen=True)
class Estimate:
    """A corrected prevalence with its interval and the raw flagged share."""

    raw_share: float
    prevalence: float
    ci_low: float
    ci_high: float
    n_docs: int
    n_clusters: int


class Estimator(ABC):
    """Prevalence of one stats row from its scored and flagged pages per cluster, with an interval."""

    name: ClassVar[str]

    def __init__(self, calibration: Calibration, replicates: int, level: float) -> None:
        self.calibration, self.replicates, self.level = calibration, replicates, level

    @abstractmethod
    def estimate(self, scored: np.ndarray, flagged: np.ndarray, seed: int) -> Estimate:
        """The estimate for one row: `scored[i]` and `flagged[i]` pages of cluster i."""


ESTIMATORS: dict[str, type[Estimator]] = {}


def register(cls: type[Estimator]) -> type[Estimator]:
    """Class decorator: make an estimator known by its versioned `name`."""
    if cls.name in ESTIMATORS:
        raise ValueError(f"two estimators are named {cls.name!r}: {ESTIMATORS[cls.name].__name__}, {cls.__name__}")
    ESTIMATORS[cls.name] = cls
    return cls


def estimator_class(name: str) -> type[Estimator]:
    """The registered estimator called `name`; ConfigError lists the known ones otherwise."""
    if name not in ESTIMATORS:
        raise ConfigError(f"unknown estimator {name!r}; known: {', '.join(sorted(ESTIMATORS))}")
    return ESTIMATORS[name]
