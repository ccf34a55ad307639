#!/usr/bin/env bash
# The same 5-minute job on the loopback standalone cluster (2 workers x 1 core, started apart, not timed),
# quiet machine; compared byte for byte with pair.sh's plain results. Run from the repository root.
set -u
store=${STORE:-$HOME/.local/share/blocksim/store-beb0ff1bb243-slen10}
job=(--store "$store" --samples "${SAMPLES:-16384}" --seed 42 --sites proj_output,ffwd_output --blocks 0-5 --k 10 --json)
out=${OUT:-/tmp/bench-spark-16k}
url=$(tools/spark/loopback-cluster.sh start 2 3g)
rm -rf "$out/p-cluster"
/usr/bin/time -f "{\"mode\": \"cluster\", \"wall_s\": %e, \"user_s\": %U, \"sys_s\": %S, \"note\": \"driver process only\"}" -a -o "$out/pairs.jsonl" \
  ./blocksim spark similars --master "$url" --conf spark.ui.enabled=false --conf spark.driver.host=127.0.0.1 "${job[@]}" \
  --out "$out/p-cluster" > "$out/p-cluster.json" 2>/dev/null
tools/spark/loopback-cluster.sh stop
echo "{\"mode\": \"cluster\", \"job_seconds\": $(grep '"seconds"' "$out/p-cluster.json" | tr -dc '0-9.'), \"loadavg\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}" >> "$out/pairs.jsonl"
diff -r "$out/p-plain" "$out/p-cluster" > /dev/null && echo "{\"cluster_same_bytes\": true}" >> "$out/pairs.jsonl"
echo DONE-CLUSTER >> "$out/pairs.jsonl"
