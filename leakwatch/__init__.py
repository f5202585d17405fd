"""leakwatch: how much of the open web is LLM-written, crawl by crawl.

One namespace: `leakwatch.jobs` (Spark jobs), `leakwatch.udfs` (per-record functions, no Spark),
`leakwatch.schemas` (tables and value sets), `leakwatch.models` (the shipped classifier), and the
modules here that are neither Spark jobs nor per-record functions.
"""

__version__ = "0.1.0"
