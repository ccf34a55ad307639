#!/usr/bin/env bash
# plain vs spark local[2], alternated, same job, with each process's CPU time (user+sys) beside its wall time
set -u
cd /work/wt-spark
store=$HOME/.local/share/blocksim/store-beb0ff1bb243-slen10
job=(--store "$store" --samples 2048 --seed 42 --sites proj_output,ffwd_output --blocks 0-5 --k 10 --json)
out=/tmp/bench-spark
for round in 1 2; do
  for mode in plain local; do
    rm -rf "$out/p-$mode"
    case $mode in
      plain) /usr/bin/time -f "{\"round\": $round, \"mode\": \"$mode\", \"wall_s\": %e, \"user_s\": %U, \"sys_s\": %S}" -a -o "$out/pairs.jsonl" \
               ./blocksim similars "${job[@]}" --out "$out/p-$mode" > "$out/p-$mode.json" 2>/dev/null ;;
      local) /usr/bin/time -f "{\"round\": $round, \"mode\": \"$mode\", \"wall_s\": %e, \"user_s\": %U, \"sys_s\": %S}" -a -o "$out/pairs.jsonl" \
               ./blocksim spark similars --master 'local[2]' --conf spark.ui.enabled=false "${job[@]}" --out "$out/p-$mode" > "$out/p-$mode.json" 2>/dev/null ;;
    esac
    echo "{\"round\": $round, \"mode\": \"$mode\", \"job_seconds\": $(grep '"seconds"' "$out/p-$mode.json" | tr -dc '0-9.'), \"loadavg\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}" >> "$out/pairs.jsonl"
  done
  diff -r "$out/p-plain" "$out/p-local" > /dev/null && echo "{\"round\": $round, \"same_bytes\": true}" >> "$out/pairs.jsonl"
done
echo DONE >> "$out/pairs.jsonl"
