import numpy as np, glob, sys
S='/root/.local/share/blocksim/store-beb0ff1bb243-slen10'
def bf16(x):
    b=x.view(np.uint32).astype(np.uint64)
    r=((b+0x7fff+((b>>16)&1))>>16)<<16
    return r.astype(np.uint32).view(np.float32)
for site in ['proj_output-b0-t9','ffwd_output-b5-t9','block_output-b5-t9','ffwd_output-b5-t8','block_output-b0-t9']:
    x=np.load(f'{S}/{site}/vectors-00003.npy',mmap_mode='r')[:20000].astype(np.float32)
    n=np.linalg.norm(x,axis=1)
    res={}
    s=np.abs(x).max(1,keepdims=True)/127; c=np.round(x/np.where(s==0,1,s)); res['int8 row']=(np.linalg.norm(x-c*s,axis=1), 392)
    for g in (32,64,128):
        xg=x.reshape(len(x),-1,g); s=np.abs(xg).max(2,keepdims=True)/127; c=np.round(xg/np.where(s==0,1,s))
        res[f'int8 g{g}']=(np.linalg.norm((xg-c*s).reshape(len(x),-1),axis=1), 384+4*384//g+4)
    res['bf16']=(np.linalg.norm(x-bf16(x),axis=1), 768+4)
    # int4 row
    s=np.abs(x).max(1,keepdims=True)/7; c=np.round(x/np.where(s==0,1,s)); res['int4 row']=(np.linalg.norm(x-c*s,axis=1), 192+8)
    print(site, 'kurtosis-ish max/rms median', np.median(np.abs(x).max(1)/(n/np.sqrt(384))))
    for k,(e,b) in res.items():
        r=e/np.maximum(n,1e-8)
        print(f'  {k:10s} bytes/row {b:4d} ({b/1536:.1%})  E/|x| median {np.median(r):.5f} p99 {np.quantile(r,.99):.5f}')
