#!/bin/bash
# Session 10, the native kernel (AVX-512 VNNI): every site of the demo store, one sitting.
# small: Q = 1, 2, 4, 8, cosine, codes beside float32; big: Q = 64 and 512, codes and auto (the float32
# scan there) beside float32;
# l2: Q = 1 and 8 on three sites.
S=${STORE:-~/.local/share/blocksim/store-beb0ff1bb243-slen10}
B=${BLOCKSIM:-../../../../blocksim}
sites="block_output:0:-1 block_output:1:-1 block_output:2:-1 block_output:3:-1 block_output:4:-1 block_output:5:-1 proj_output:0:-1 proj_output:1:-1 proj_output:2:-1 proj_output:3:-1 proj_output:4:-1 proj_output:5:-1 ffwd_output:0:-1 ffwd_output:1:-1 ffwd_output:2:-1 ffwd_output:3:-1 ffwd_output:4:-1 ffwd_output:5:-1 ffwd_output:5:8"
for e in $sites; do
  IFS=: read site block pos <<< "$e"
  tag=$site-b$block-t$pos
  $B bench search --store $S --site $site --block $block --position $pos --queries 1,2,4,8 --metric cosine --scan codes,float32 --repeats 5 --warmups 2 --json small-$tag.json > small-$tag.txt 2> small-$tag.err
  echo "small $tag done $(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg)" >> progress.log
done
for e in $sites; do
  IFS=: read site block pos <<< "$e"
  tag=$site-b$block-t$pos
  $B bench search --store $S --site $site --block $block --position $pos --queries 64,512 --metric cosine --scan codes,auto,float32 --repeats 3 --warmups 1 --json big-$tag.json > big-$tag.txt 2> big-$tag.err
  echo "big $tag done $(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg)" >> progress.log
done
for e in proj_output:0:-1 block_output:5:-1 ffwd_output:5:8; do
  IFS=: read site block pos <<< "$e"
  tag=$site-b$block-t$pos
  $B bench search --store $S --site $site --block $block --position $pos --queries 1,8 --metric l2 --scan codes,float32 --repeats 5 --warmups 2 --json l2-$tag.json > l2-$tag.txt 2> l2-$tag.err
  echo "l2 $tag done $(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg)" >> progress.log
done
echo ALLDONE >> progress.log
