"""Scoring in plain Python: the text form, why a document is not scored, the calibration's formula, and the
calibration fit checked against a brute-force search of the same likelihood."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from leakwatch.training.calibrate import (
    design,
    expected_calibration_error,
    fit_calibration,
    fit_logistic,
    max_tie_share,
)
from leakwatch.udfs.classifier import MAX_TOKENS, classifier_text
from leakwatch.udfs.scoring import (
    EMPTY,
    NOT_ENGLISH,
    TOO_SHORT,
    Calibration,
    not_scored_reason,
    token_counts,
)


def test_text_form_drops_bullets_control_characters_and_lone_surrogates():
    assert classifier_text("Our menu\n- Fresh bread\n2. Coffee\n• Cake") == "our menu fresh bread coffee cake"
    assert classifier_text("a\x00b\x07c d\x1b") == "a b c d"
    assert classifier_text("broken \udcff byte") == "broken byte"
    # A minus sign inside a line, and a number at a line's start, stay.
    assert classifier_text("3 - 2 = 1") == "0 - 0 = 0"
    assert len(classifier_text("word " * 5 * MAX_TOKENS).split()) == MAX_TOKENS


def test_reasons_a_document_is_not_scored():
    assert not_scored_reason("en", 0, "en", 50) == EMPTY
    assert not_scored_reason(None, 0, "en", 50) == EMPTY
    assert not_scored_reason("de", 80, "en", 50) == NOT_ENGLISH
    assert not_scored_reason("en", 49, "en", 50) == TOO_SHORT
    assert not_scored_reason("en", 50, "en", 50) is None


def test_calibration_formula():
    c = Calibration(intercept=0.5, slope=2.0, length_slope=0.25, length_shift=-1.0, length_center=5.0)
    z, n = np.array([1.0, -3.0]), np.array([np.exp(5.0), np.exp(6.0)])
    expected = 1 / (1 + np.exp(-np.array([0.5 + 2.0, 0.5 - 6.0 - 0.75 - 1.0])))
    assert np.allclose(c.p_llm(z, n), expected)
    assert token_counts(["a b c", "", "x"]).tolist() == [3, 0, 1]


def _log_likelihood(beta, x, y, w):
    p = 1 / (1 + np.exp(-(x @ beta)))
    return float(np.sum(w * (y * np.log(p) + (1 - y) * np.log(1 - p))))


def test_calibration_fit_matches_a_brute_force_search():
    # A toy model's logits: LLM texts around +1, human around -1, with noise and unequal weights.
    rng = np.random.default_rng(3)
    y = rng.random(400) < 0.4
    z = np.where(y, 1.0, -1.0) + rng.normal(0, 1.5, 400)
    w = rng.uniform(0.5, 2.0, 400)
    x = design(z, np.full(400, 100.0), length=False)
    beta = fit_logistic(x, y, w, ridge=0.0)
    grid = np.linspace(-2, 2, 161)
    best = max(itertools.product(grid, grid), key=lambda b: _log_likelihood(np.array(b), x, y, w))
    assert np.allclose(beta, best, atol=0.025 + 1e-9)
    assert _log_likelihood(beta, x, y, w) >= _log_likelihood(np.array(best), x, y, w) - 1e-9


def test_length_aware_fit_recovers_known_coefficients():
    rng = np.random.default_rng(4)
    n = np.exp(rng.uniform(3.5, 6.5, 20000))
    z = rng.normal(0, 3, 20000)
    truth = Calibration(intercept=-0.3, slope=0.8, length_slope=0.4, length_shift=0.2)
    y = rng.random(20000) < truth.p_llm(z, n)
    fitted = fit_calibration(z, n, y, np.ones(20000))
    assert fitted.slope == pytest.approx(0.8, abs=0.06)
    assert fitted.length_slope == pytest.approx(0.4, abs=0.06)
    assert fitted.intercept == pytest.approx(-0.3, abs=0.08)


def test_ece_and_ties_on_known_cases():
    assert expected_calibration_error(np.array([1, 0, 1, 0]), np.array([1.0, 0.0, 1.0, 0.0])) == 0.0
    # Every text at 0.5, three in four LLM: the one bin is off by 0.25.
    assert expected_calibration_error(np.array([1, 1, 1, 0]), np.full(4, 0.5)) == pytest.approx(0.25)
    assert max_tie_share(np.array([0.1, 0.2, 0.2, 0.3])) == 0.5
