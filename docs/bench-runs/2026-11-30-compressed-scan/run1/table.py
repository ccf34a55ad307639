import json, glob, statistics, sys, os
d = sys.argv[1] if len(sys.argv) > 1 else '/tmp/benchrun2'
order = ['block_output','proj_output','ffwd_output']
import re
def parse(tag):
    m = re.match(r'(.*)-b(\d+)-t(-?\d+)$', tag)
    return m.group(1), int(m.group(2)), int(m.group(3))
def key(tag):
    s, b, t = parse(tag)
    return (order.index(s), b, -t if t < 0 else -t + 100)
tags = sorted({os.path.basename(f)[6:-5] for f in glob.glob(d + '/small-*.json')}, key=key)
rows = []
q1c = []; q8c = []; q1f = []; q8f = []; big = {64: [], 512: []}; mid = {2: [], 4: []}; auto_ratio = {}
three = any(len([r for r in (json.loads(l) for l in open(f)) if r['q'] == 64]) == 3 for f in glob.glob(d + '/big-*.json'))
big_head = 'codes / auto / float32 (ms)' if three else 'auto / float32 (ms)'
print(f'| site | codes MB | Q=1 codes / float32 (x floor) | Q=2 | Q=4 | Q=8 | re-scored Q=1 (med/max) | re-scored Q=8 (med/max) | Q=64 {big_head} | Q=512 {big_head} |')
print('|---|---|---|---|---|---|---|---|---|---|')
for tag in tags:
    small = [json.loads(l) for l in open(f'{d}/small-{tag}.json')]
    by = {}
    for r in small:
        by[(r['q'], r['scan'])] = r
    cells = []
    for q in (1, 2, 4, 8):
        c = by[(q, 'codes')]; f = by[(q, 'float32')]
        cells.append(f"{c['median_ms']/c['floor_ms']:.2f} / {f['median_ms']/f['floor_ms']:.2f}")
        if q in mid:
            mid[q].append(c['median_ms']/c['floor_ms'])
    q1c.append(by[(1,'codes')]['median_ms']/by[(1,'codes')]['floor_ms']); q1f.append(by[(1,'float32')]['median_ms']/by[(1,'float32')]['floor_ms'])
    q8c.append(by[(8,'codes')]['median_ms']/by[(8,'codes')]['floor_ms']); q8f.append(by[(8,'float32')]['median_ms']/by[(8,'float32')]['floor_ms'])
    bigcells = []
    bf = f'{d}/big-{tag}.json'
    if os.path.exists(bf):
        bl = [json.loads(l) for l in open(bf)]
        for q in (64, 512):
            pair = [r for r in bl if r['q'] == q]
            if len(pair) == 2:  # auto, float32 (run1)
                a, f = pair
                bigcells.append(f"{a['median_ms']:.0f} / {f['median_ms']:.0f}")
                big[q].append(a['median_ms'] / f['median_ms'])
            elif len(pair) == 3:  # codes, auto, float32 (run4)
                c, a, f = pair
                bigcells.append(f"{c['median_ms']:.0f} / {a['median_ms']:.0f} / {f['median_ms']:.0f}")
                big[q].append(c['median_ms'] / f['median_ms'])
                auto_ratio.setdefault(q, []).append(a['median_ms'] / f['median_ms'])
            else:
                bigcells.append('-')
    else:
        bigcells = ['-', '-']
    site, b, t = parse(tag)
    pos = 9 if t == -1 else t
    cb = by[(1,'codes')]['code_bytes'] / 1e6
    r1 = f"{by[(1,'codes')]['rescored_median']}/{by[(1,'codes')]['rescored_max']}"
    r8 = f"{by[(8,'codes')]['rescored_median']}/{by[(8,'codes')]['rescored_max']}"
    print(f"| {site} {b} t={pos} | {cb:.0f} | " + ' | '.join(cells) + f" | {r1} | {r8} | " + ' | '.join(bigcells) + ' |')
med = statistics.median
print()
print(f"medians over {len(tags)} sites (x the float32 floor measured beside each search): Q=1 codes {med(q1c):.2f}, float32 {med(q1f):.2f}; Q=8 codes {med(q8c):.2f}, float32 {med(q8f):.2f}; "
      + ', '.join(f"Q={q} {'codes' if three else 'auto'}/float32 time ratio median {med(v):.2f}" for q, v in big.items() if v))
if auto_ratio:
    print('(run4: the Q=64 and Q=512 cells are codes / auto / float32 in ms, the ratio above codes/float32) '
          + ', '.join(f"Q={q} auto/float32 median {med(v):.2f}, codes/float32 max {max(big[q]):.2f}" for q, v in auto_ratio.items()))
print(f"worst site: Q=1 codes {max(q1c):.2f}, Q=8 codes {max(q8c):.2f}; medians Q=2 codes {med(mid[2]):.2f}, Q=4 codes {med(mid[4]):.2f}")
for f in sorted(glob.glob(d + '/l2-*.json')):
    ls = [json.loads(l) for l in open(f)]
    print('L2 ' + os.path.basename(f)[3:-5] + ': ' + ', '.join(f"Q={r['q']} {r['scan']} {r['median_ms']/r['floor_ms']:.2f}x ({r['median_ms']:.1f} ms"
          + (f", {r['rescored_median']}/{r['rescored_max']} re-scored)" if r['rescored_median'] is not None else ")") for r in ls))
