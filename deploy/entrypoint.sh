#!/bin/bash
# Container entrypoint: Spark-on-Kubernetes roles first, anything else is a `leakwatch` command.
#   driver ARGS...   what spark-submit --deploy-mode cluster (and the spark-operator) run in the driver pod
#   executor         what the driver asks for in each executor pod (settings come in SPARK_* variables)
#   ARGS...          leakwatch ARGS, e.g. `monthly --warehouse s3a://bucket/leakwatch`
set -euo pipefail

case "${1:-}" in
  driver)
    shift
    # The driver pod runs the application in client mode, bound to the pod's address.
    exec "$SPARK_HOME/bin/spark-submit" \
      --conf "spark.driver.bindAddress=${SPARK_DRIVER_BIND_ADDRESS:-0.0.0.0}" \
      --conf "spark.executorEnv.SPARK_DRIVER_POD_IP=${SPARK_DRIVER_BIND_ADDRESS:-0.0.0.0}" \
      --deploy-mode client \
      "$@"
    ;;
  executor)
    shift
    for name in SPARK_EXECUTOR_MEMORY SPARK_DRIVER_URL SPARK_EXECUTOR_ID SPARK_EXECUTOR_CORES \
                SPARK_APPLICATION_ID SPARK_EXECUTOR_POD_IP JAVA_HOME SPARK_HOME; do
      if [ -z "${!name:-}" ]; then
        echo "entrypoint: executor needs $name, which Spark sets in executor pods; start executors through Spark" >&2
        exit 2
      fi
    done
    # Spark passes executor JVM options as SPARK_JAVA_OPT_0, SPARK_JAVA_OPT_1, ... in order.
    java_opts=()
    while IFS= read -r opt; do java_opts+=("$opt"); done < <(
      env | grep '^SPARK_JAVA_OPT_' | sort -t_ -k4 -n | sed 's/^[^=]*=//'
    )
    exec "$JAVA_HOME/bin/java" "${java_opts[@]}" \
      -Xms"${SPARK_EXECUTOR_MEMORY}" -Xmx"${SPARK_EXECUTOR_MEMORY}" \
      -cp "${SPARK_CLASSPATH:-$SPARK_HOME/jars/*}:$SPARK_HOME/jars/*" \
      org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend \
      --driver-url "$SPARK_DRIVER_URL" \
      --executor-id "$SPARK_EXECUTOR_ID" \
      --cores "$SPARK_EXECUTOR_CORES" \
      --app-id "$SPARK_APPLICATION_ID" \
      --hostname "$SPARK_EXECUTOR_POD_IP" \
      --resourceProfileId "${SPARK_RESOURCE_PROFILE_ID:-0}" \
      --podName "${SPARK_EXECUTOR_POD_NAME:-$HOSTNAME}"
    ;;
  *)
    exec leakwatch "$@"
    ;;
esac
