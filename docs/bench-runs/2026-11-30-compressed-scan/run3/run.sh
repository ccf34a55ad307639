#!/bin/bash
# Quiet sitting (nothing else running), Q = 1 and 8, cosine, every site of the demo store.
S=${STORE:-~/.local/share/blocksim/store-beb0ff1bb243-slen10}
B=${BLOCKSIM:-../../../../blocksim}
for e in block_output:0:-1 block_output:1:-1 block_output:2:-1 block_output:3:-1 block_output:4:-1 block_output:5:-1 proj_output:0:-1 proj_output:1:-1 proj_output:2:-1 proj_output:3:-1 proj_output:4:-1 proj_output:5:-1 ffwd_output:0:-1 ffwd_output:1:-1 ffwd_output:2:-1 ffwd_output:3:-1 ffwd_output:4:-1 ffwd_output:5:-1 ffwd_output:5:8; do
  IFS=: read site block pos <<< "$e"
  tag=$site-b$block-t$pos
  $B bench search --store $S --site $site --block $block --position $pos --queries 1,8 --metric cosine --scan codes,float32 --repeats 5 --warmups 2 --json small-$tag.json > small-$tag.txt 2> small-$tag.err
  echo "$tag done $(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg)" >> progress.log
done
echo ALLDONE >> progress.log
