"""Spark jobs of leakwatch (one per stage) and the `leakwatch` command line that drives them."""
