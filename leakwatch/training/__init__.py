"""Training the synthetic-text classifier and writing its model card (no Spark)."""
