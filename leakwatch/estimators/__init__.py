"""Prevalence estimators: one module each, registered under a versioned name (base.py says how).

A new estimator is a module in this folder (a subclass of base.Estimator with a `name`, a `column` and
`fit`, or `parts` and `combine` for one made from other estimators' results, decorated with `@register`)
and one import line below, which registers it; its columns go into schemas/values.py's ESTIMATOR_COLUMNS.
leakwatch.estimators.bootstrap runs them all on every stats row.
"""

from leakwatch.estimators import acc, bound, hdy, hdyb, mixture, wordfreq  # noqa: F401 - registers the estimators
