#!/usr/bin/env bash
# same job three ways: plain, spark local[2], spark on the loopback cluster (2 workers x 1 core)
set -u
cd /work/wt-spark
store=$HOME/.local/share/blocksim/store-beb0ff1bb243-slen10
job=(--store "$store" --samples 8192 --seed 42 --sites proj_output,ffwd_output --blocks 0-5 --k 10 --json)
out=/tmp/bench-spark
cpu() { awk '/^cpu /{print $2+$3+$4+$7+$8, $5+$6}' /proc/stat; }
for mode in plain local cluster; do
  rm -rf "$out/r-$mode"
  read b0 i0 < <(cpu); t0=$(date +%s.%N)
  case $mode in
    plain) ./blocksim similars "${job[@]}" --out "$out/r-$mode" > "$out/$mode.json" 2> "$out/$mode.err" ;;
    local) ./blocksim spark similars --master 'local[2]' --conf spark.ui.enabled=false "${job[@]}" --out "$out/r-$mode" > "$out/$mode.json" 2> "$out/$mode.err" ;;
    cluster) url=$(tools/spark/loopback-cluster.sh start 2 3g); t0=$(date +%s.%N); read b0 i0 < <(cpu)
             ./blocksim spark similars --master "$url" --conf spark.ui.enabled=false --conf spark.driver.host=127.0.0.1 "${job[@]}" --out "$out/r-$mode" > "$out/$mode.json" 2> "$out/$mode.err"
             tools/spark/loopback-cluster.sh stop ;;
  esac
  t1=$(date +%s.%N); read b1 i1 < <(cpu)
  echo "{\"mode\": \"$mode\", \"wall_s\": $(echo "$t1 - $t0" | bc), \"machine_busy_cores\": $(echo "scale=2; 2 * ($b1 - $b0) / ($b1 - $b0 + $i1 - $i0)" | bc), \"loadavg_end\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}" >> "$out/records.jsonl"
done
diff -r "$out/r-plain" "$out/r-local" > /dev/null && echo "local: same bytes" >> "$out/records.jsonl"
diff -r "$out/r-plain" "$out/r-cluster" > /dev/null && echo "cluster: same bytes" >> "$out/records.jsonl"
echo DONE >> "$out/records.jsonl"
