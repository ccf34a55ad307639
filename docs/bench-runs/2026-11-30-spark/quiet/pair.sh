#!/usr/bin/env bash
# Spark's overhead on a ~5-minute job (SAMPLES=16384: about 5 minutes plain on 2 quiet cores), quiet machine: plain similars, then spark local[2], same job,
# same bytes; wall and CPU time of each process. Run from the repository root.
set -u
store=${STORE:-$HOME/.local/share/blocksim/store-beb0ff1bb243-slen10}
job=(--store "$store" --samples "${SAMPLES:-16384}" --seed 42 --sites proj_output,ffwd_output --blocks 0-5 --k 10 --json)
out=${OUT:-/tmp/bench-spark-quiet}
mkdir -p "$out"
for mode in plain local; do
  rm -rf "$out/p-$mode"
  case $mode in
    plain) /usr/bin/time -f "{\"mode\": \"$mode\", \"wall_s\": %e, \"user_s\": %U, \"sys_s\": %S}" -a -o "$out/pairs.jsonl" \
             ./blocksim similars "${job[@]}" --out "$out/p-$mode" > "$out/p-$mode.json" 2>/dev/null ;;
    local) /usr/bin/time -f "{\"mode\": \"$mode\", \"wall_s\": %e, \"user_s\": %U, \"sys_s\": %S}" -a -o "$out/pairs.jsonl" \
             ./blocksim spark similars --master 'local[2]' --conf spark.ui.enabled=false "${job[@]}" --out "$out/p-$mode" > "$out/p-$mode.json" 2>/dev/null ;;
  esac
  echo "{\"mode\": \"$mode\", \"job_seconds\": $(grep '"seconds"' "$out/p-$mode.json" | tr -dc '0-9.'), \"loadavg\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}" >> "$out/pairs.jsonl"
done
diff -r "$out/p-plain" "$out/p-local" > /dev/null && echo "{\"same_bytes\": true}" >> "$out/pairs.jsonl"
echo DONE >> "$out/pairs.jsonl"
