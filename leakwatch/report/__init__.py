"""Rendering the report: the HTML page, its charts and its number formats (no Spark)."""
