"""Prevalence estimators: one module each, registered under a versioned name (base.py says how).

A new estimator is a module in this folder and one import line below, which registers it.
"""

from leakwatch.estimators import adjusted_cc  # noqa: F401 - registers adjusted_cc_v1
