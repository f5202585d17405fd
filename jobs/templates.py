"""Host templates: the lines a host repeats on most of its pages in a crawl (navigation, footer, the
site's name), found in Spark and left out of the shingles of its pages (udfs.minhash.without_template).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from leakwatch.udfs.minhash import DedupOptions

# The keys of a text's distinct non-blank lines; udfs.minhash.line_key computes the same in Python.
LINE_KEYS = "array_distinct(transform(filter(split(text, '\\n'), l -> trim(l) != ''), l -> xxhash64(trim(l))))"


def host_column(docs: DataFrame) -> Column:
    """The documents' host: their `host` column, or the URL's host where a frame has none."""
    return F.col("host") if "host" in docs.columns else F.expr("parse_url(url, 'HOST')")


def host_templates(docs: DataFrame, options: DedupOptions) -> DataFrame:
    """(crawl, host, template): keys of the lines that at least template_share of a host's distinct texts in
    the crawl hold, for hosts with at least template_min_pages distinct texts; none when turned off."""
    texts = docs.select("crawl", host_column(docs).alias("host"), "text_hash", "text").where(F.col("host").isNotNull())
    pages = (texts.groupBy("crawl", "host").agg(F.countDistinct("text_hash").alias("pages"))
             .where(F.col("pages") >= max(options.template_min_pages, 2)))
    # Distinct texts, not pages: a page fetched twice (or duplicated on the host) is not a template.
    counts = (
        texts.join(pages, ["crawl", "host"], "left_semi").dropDuplicates(["crawl", "host", "text_hash"])
        .select("crawl", "host", F.explode(F.expr(LINE_KEYS)).alias("key"))
        .groupBy("crawl", "host", "key").count()
    )
    return (
        counts.join(pages, ["crawl", "host"])
        .where(F.col("count") >= F.col("pages") * options.template_share)
        .groupBy("crawl", "host").agg(F.array_sort(F.collect_list("key")).alias("template"))
    )


def with_templates(docs: DataFrame, options: DedupOptions) -> DataFrame:
    """The documents with their host's `template` (line keys; null for hosts without one)."""
    if options.template_share <= 0:
        return docs.withColumn("template", F.lit(None).cast("array<long>"))
    keyed = docs.withColumn("template_host", host_column(docs))
    templates = host_templates(docs, options).withColumnRenamed("host", "template_host")
    return keyed.join(templates, ["crawl", "template_host"], "left").drop("template_host")
