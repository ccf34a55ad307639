#!/bin/bash
S=~/.local/share/blocksim/store-beb0ff1bb243-slen10
J=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java
cd /tmp/benchrun4
for e in block_output:0:-1 block_output:1:-1 block_output:2:-1 block_output:3:-1 block_output:4:-1 block_output:5:-1 proj_output:0:-1 proj_output:1:-1 proj_output:2:-1 proj_output:3:-1 proj_output:4:-1 proj_output:5:-1 ffwd_output:0:-1 ffwd_output:1:-1 ffwd_output:2:-1 ffwd_output:3:-1 ffwd_output:4:-1 ffwd_output:5:-1 ffwd_output:5:8; do
  IFS=: read site block pos <<< "$e"
  tag=$site-b$block-t$pos
  $J --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -jar blocksim.jar bench search --store $S --site $site --block $block --position $pos --queries 1,2,4,8 --metric cosine --scan codes,float32 --repeats 5 --warmups 2 --json small-$tag.json > small-$tag.txt 2> small-$tag.err
  echo "$tag done $(date -u +%H:%M:%S)" >> progress.log
done
for e in proj_output:0:-1 block_output:5:-1 ffwd_output:5:8; do
  IFS=: read site block pos <<< "$e"
  tag=$site-b$block-t$pos
  $J --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -jar blocksim.jar bench search --store $S --site $site --block $block --position $pos --queries 1,8 --metric l2 --scan codes,float32 --repeats 5 --warmups 2 --json l2-$tag.json > l2-$tag.txt 2> l2-$tag.err
  echo "l2 $tag done $(date -u +%H:%M:%S)" >> progress.log
done
echo ALLDONE >> progress.log
