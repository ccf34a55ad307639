import numpy as np, glob
S='/root/.local/share/blocksim/store-beb0ff1bb243-slen10'
for site in ['proj_output-b0-t9','block_output-b5-t9']:
    fs=sorted(glob.glob(f'{S}/{site}/vectors-*.npy'))
    x=np.concatenate([np.load(f,mmap_mode='r')[:] for f in fs[:4]]).astype(np.float32)
    n=np.linalg.norm(x,axis=1)
    s=np.abs(x).max(1,keepdims=True)/127; c=np.round(x/s); er={'row':np.linalg.norm(x-c*s,axis=1)}
    xg=x.reshape(len(x),-1,32); s=np.abs(xg).max(2,keepdims=True)/127; c=np.round(xg/s); er['g32']=np.linalg.norm((xg-c*s).reshape(len(x),-1),axis=1)
    del xg,c,s
    rng=np.random.default_rng(1); qs=rng.choice(len(x),8,replace=False)
    cos=(x@ (x[qs]/n[qs,None]).T)/n[:,None]
    for k,e in er.items():
        r=e/n; sv=[]
        for j in range(len(qs)):
            lo=cos[:,j]-r; hi=cos[:,j]+r; T=np.sort(lo)[-10]; sv.append(int((hi>=T).sum()))
        print(site,len(x),k,'survivors per query',sv)
