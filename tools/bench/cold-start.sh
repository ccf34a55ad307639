#!/usr/bin/env bash
# Cold-start table for the README: each command from a fresh process, N runs (default 5) with the
# launcher's startup cache off (BLOCKSIM_AOT=0) and on, alternating, medians of wall time.
#   tools/bench/cold-start.sh STORE [N]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
store="${1:?usage: cold-start.sh STORE [N]}"
n="${2:-5}"
q="$(mktemp --suffix=.npy)"
trap 'rm -f "$q"' EXIT
python3 -c "import numpy as np; np.save('$q', np.random.default_rng(1).standard_normal((1, 384)).astype(np.float32))"
"$root/blocksim" --help >/dev/null 2>&1  # builds the jar and the cache if needed
cmds=(
  "--help"
  "info $store"
  "search --store $store --site proj_output --block 5 --query-npy $q"
  "search --store $store --site proj_output --block 5 --prompt my_most_gr"
  "demo --store $store --no-report"
)
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
printf '%-75s %10s %10s\n' "command" "cache off" "cache on"
for c in "${cmds[@]}"; do
  off=(); on=()
  for ((i = 0; i < n; i++)); do
    for mode in 0 1; do
      args=(${c//my_most_gr/__P__})
      for j in "${!args[@]}"; do [ "${args[$j]}" = __P__ ] && args[$j]="my most gr"; done
      s=$(date +%s%N)
      BLOCKSIM_AOT=$mode "$root/blocksim" "${args[@]}" >/dev/null 2>&1
      e=$(( ($(date +%s%N) - s) / 1000000 ))
      if [ $mode = 0 ]; then off+=("$e"); else on+=("$e"); fi
    done
  done
  printf '%-75s %8s ms %8s ms\n' "blocksim ${c//$store/STORE}" \
    "$(printf '%s\n' "${off[@]}" | median)" "$(printf '%s\n' "${on[@]}" | median)"
done
