#!/usr/bin/env bash
# A Spark standalone cluster on 127.0.0.1 from the spark module's jars (no Spark download; DESIGN.md
# section 8): one master and WORKERS workers of one core each. For trying `blocksim spark` and for
# the measurements in the README; the tests start their own (LoopbackCluster).
#   tools/spark/loopback-cluster.sh start [WORKERS] [WORKER_MEMORY]   prints the master URL
#   tools/spark/loopback-cluster.sh stop
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir="${BLOCKSIM_SPARK_CLUSTER_DIR:-$here/java/spark/target/loopback-cluster}"
java_bin="${BLOCKSIM_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java"
flags=(--add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED
  --add-opens=java.base/java.lang.invoke=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -Xmx256m)
case "${1:-}" in
  start)
    workers="${2:-2}"; memory="${3:-2g}"
    lib="$here/java/spark/target/lib"
    [ -d "$lib" ] || { echo "build the spark module first: mvn -DskipTests package -pl java/spark -am" >&2; exit 1; }
    mkdir -p "$dir/home/jars"
    ln -sf "$lib"/*.jar "$dir/home/jars/"
    : > "$dir/home/RELEASE"
    export SPARK_HOME="$dir/home" SPARK_SCALA_VERSION=2.13 SPARK_LOCAL_IP=127.0.0.1
    export JAVA_HOME="$(dirname "$(dirname "$java_bin")")"
    port="${SPARK_MASTER_PORT:-7077}"
    "$java_bin" "${flags[@]}" -cp "$SPARK_HOME/jars/*" org.apache.spark.deploy.master.Master --host 127.0.0.1 \
      --port "$port" --webui-port 0 > "$dir/master.log" 2>&1 &
    echo $! > "$dir/pids"
    sleep 3
    for w in $(seq 1 "$workers"); do
      mkdir -p "$dir/work-$w"
      "$java_bin" "${flags[@]}" -cp "$SPARK_HOME/jars/*" org.apache.spark.deploy.worker.Worker --host 127.0.0.1 \
        --cores 1 --memory "$memory" --webui-port 0 --work-dir "$dir/work-$w" "spark://127.0.0.1:$port" \
        > "$dir/worker-$w.log" 2>&1 &
      echo $! >> "$dir/pids"
    done
    for w in $(seq 1 "$workers"); do
      for _ in $(seq 1 120); do grep -q "Successfully registered" "$dir/worker-$w.log" && break; sleep 0.5; done
    done
    echo "spark://127.0.0.1:$port"
    ;;
  stop)
    [ -f "$dir/pids" ] || exit 0
    while read -r pid; do
      pkill -9 -P "$pid" 2>/dev/null || true   # the worker's executors
      kill -9 "$pid" 2>/dev/null || true
    done < "$dir/pids"
    rm -f "$dir/pids"
    ;;
  *) echo "usage: $0 start [WORKERS] [WORKER_MEMORY] | stop" >&2; exit 2 ;;
esac
