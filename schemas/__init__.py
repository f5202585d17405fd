"""Every table's columns (`tables`, StructTypes) and every value set that crosses modules (`values`,
plain Python, importable without Spark)."""
