#!/bin/bash
# Submit a leakwatch command to any Spark master (YARN, Kubernetes, standalone, local) with the
# environment archive that `make dist` builds, and defaults sized for Common Crawl WARC files.
#
#   deploy/spark-submit.sh [options] [--] [COMMAND [leakwatch flags]]     (COMMAND defaults to `run`)
#
# Options (every other spark-submit option goes through unchanged, e.g. --conf K=V, --jars, --name):
#   --master URL            yarn | k8s://https://HOST:PORT | spark://HOST:7077 | local[N]  (default: $SPARK_MASTER or local[*])
#   --deploy-mode MODE      client (default) | cluster
#   --env ARCHIVE           environment archive (default: dist/leakwatch-env.tar.gz beside this script's repo)
#   --input-files N         number of input WARC files, to size shuffle partitions (default: the command's --sample-files)
#   --executor-memory MEM   JVM heap per executor (default 4g; Python workers get --conf spark.executor.memoryOverhead, 2g)
#   --dry-run               print the spark-submit command instead of running it
# Environment: SPARK_SUBMIT (default: spark-submit on PATH), LEAKWATCH_DRIVER_PYTHON (client mode driver's
# Python, which must import leakwatch; default: .venv/bin/python of the repo, else python3).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
master=${SPARK_MASTER:-"local[*]"}
deploy_mode=client
env_archive="$repo/dist/leakwatch-env.tar.gz"
input_files=""
executor_memory=4g
dry_run=0
passthrough=()

while [ $# -gt 0 ]; do
  case "$1" in
    --master) master=$2; shift 2 ;;
    --deploy-mode) deploy_mode=$2; shift 2 ;;
    --env) env_archive=$2; shift 2 ;;
    --input-files) input_files=$2; shift 2 ;;
    --executor-memory) executor_memory=$2; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    --verbose|--supervise) passthrough+=("$1"); shift ;;
    --) shift; break ;;
    --*) passthrough+=("$1" "$2"); shift 2 ;;
    *) break ;;
  esac
done
command_args=("$@")
[ ${#command_args[@]} -gt 0 ] || command_args=(run)

if [ -z "$input_files" ]; then
  for ((i = 0; i < ${#command_args[@]} - 1; i++)); do
    [ "${command_args[$i]}" = "--sample-files" ] && input_files=${command_args[$((i + 1))]}
  done
fi
if ! [[ "${input_files:-0}" =~ ^[0-9]+$ ]]; then
  echo "spark-submit.sh: --input-files must be a whole number of WARC files, not '$input_files'" >&2
  exit 2
fi
# One Common Crawl WARC file (~1 GB gzipped, ~35k pages) gives ~150 MB of text: two shuffle
# partitions per file keep partitions near 100 MB; adaptive execution merges the ones that come out small.
partitions=$(( ${input_files:-0} * 2 ))
[ "$partitions" -ge 16 ] || partitions=16
[ "$partitions" -le 20000 ] || partitions=20000

if [ "$dry_run" = 0 ] && [ ! -f "$env_archive" ]; then
  echo "spark-submit.sh: environment archive $env_archive not found: run 'make dist' first, or pass --env" >&2
  exit 2
fi

env_python=./environment/bin/python
if [ "$deploy_mode" = cluster ]; then
  driver_python=$env_python
else
  driver_python=${LEAKWATCH_DRIVER_PYTHON:-}
  if [ -z "$driver_python" ]; then
    if [ -x "$repo/.venv/bin/python" ]; then driver_python="$repo/.venv/bin/python"; else driver_python=python3; fi
  fi
fi

cmd=(
  "${SPARK_SUBMIT:-spark-submit}"
  --master "$master"
  --deploy-mode "$deploy_mode"
  --name "leakwatch-${command_args[0]}"
  --archives "$env_archive#environment"
  --conf "spark.pyspark.python=$env_python"
  --conf "spark.pyspark.driver.python=$driver_python"
  --conf "spark.yarn.appMasterEnv.PYSPARK_PYTHON=$env_python"
  --conf "spark.executor.memory=$executor_memory"
  --conf spark.executor.memoryOverhead=2g
  --conf spark.sql.execution.arrow.pyspark.enabled=true
  --conf spark.sql.adaptive.enabled=true
  --conf spark.sql.adaptive.coalescePartitions.enabled=true
  --conf "spark.sql.shuffle.partitions=$partitions"
  --conf spark.sql.session.timeZone=UTC
  # Later --conf values win: what the caller passes overrides the defaults above.
  "${passthrough[@]}"
  "$here/driver.py"
  "${command_args[@]}"
)
if [ "$dry_run" = 1 ]; then
  printf '%q ' "${cmd[@]}"
  echo
  exit 0
fi
exec "${cmd[@]}"
