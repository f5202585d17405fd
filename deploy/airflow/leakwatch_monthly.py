"""Airflow DAG: `leakwatch monthly` once a month, through spark-submit to the cluster of a Spark connection.

Set up: an Airflow connection `spark_leakwatch` (type Spark; host = the master, e.g. `yarn` or
`k8s://https://HOST:443`, extra `{"deploy-mode": "cluster"}`), and the environment archive from
`make dist` copied where the cluster reads it. The run is idempotent and resumes per input file,
so a retried or re-triggered run only does what is missing; the warehouse lock stops overlaps.
"""

from __future__ import annotations

import datetime as dt

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import DAG, Param

# Common Crawl publishes a crawl about once a month; the 3rd leaves time for its paths files to land.
SCHEDULE = "0 6 3 * *"

with DAG(
    dag_id="leakwatch_monthly",
    description="Process new Common Crawl crawls and append them to the leakwatch series",
    schedule=SCHEDULE,
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": dt.timedelta(minutes=30)},
    params={
        "warehouse": Param("s3a://my-bucket/leakwatch", type="string"),
        "env_archive": Param("s3a://my-bucket/leakwatch/dist/leakwatch-env.tar.gz", type="string"),
        "application": Param("s3a://my-bucket/leakwatch/dist/driver.py", type="string"),
        "since": Param("CC-MAIN-2024-10", type="string"),
        "sample_files": Param(900, type="integer", minimum=1),
    },
    tags=["leakwatch"],
) as dag:
    SparkSubmitOperator(
        task_id="monthly",
        conn_id="spark_leakwatch",
        name="leakwatch-monthly",
        application="{{ params.application }}",
        archives="{{ params.env_archive }}#environment",
        executor_memory="4g",
        conf={
            "spark.pyspark.python": "./environment/bin/python",
            "spark.pyspark.driver.python": "./environment/bin/python",
            "spark.executor.memoryOverhead": "2g",
            "spark.sql.execution.arrow.pyspark.enabled": "true",
            "spark.sql.adaptive.enabled": "true",
            "spark.sql.shuffle.partitions": "{{ params.sample_files * 2 }}",
            "spark.jars.packages": "org.apache.hadoop:hadoop-aws:3.5.0",
        },
        application_args=[
            "monthly",
            "--warehouse", "{{ params.warehouse }}",
            "--since", "{{ params.since }}",
            "--sample-files", "{{ params.sample_files }}",
            "--seed", "1",
            "--source", "s3",
        ],
    )
