# Fits the polynomial used for erfc(z)·exp(z²) in Sources/_AirbenchSIMD/elementwise.c (GELU), and checks
# the resulting fp32 Φ(x). Needs numpy and scipy; run once, paste the coefficients. Never needed at run time.
import numpy as np
from scipy.special import erfcx, erfc
p=0.5; deg=10
z = np.linspace(0, 12, 400001); t = 1/(1+p*z); f = erfcx(z)
V = np.vander(t, deg+1, increasing=True); w=1/f
c, *_ = np.linalg.lstsq(V*w[:,None], f*w, rcond=None)
print(",\n".join("%.9e" % x for x in c))
# full Phi check in float32 path
def phi32(x):
    x=x.astype(np.float32); z=np.abs(x)*np.float32(0.70710678118654752)
    t=np.float32(1)/(np.float32(1)+np.float32(0.5)*z); acc=np.float32(c[-1])
    for ci in c[-2::-1]: acc=acc*t+np.float32(ci)
    e = np.exp(-(z*z)).astype(np.float32)*acc*np.float32(0.5)
    return np.where(x<0, e, np.float32(1)-e)
x=np.linspace(-12,12,100001)
ref=0.5*erfc(-x/np.sqrt(2))
r=phi32(x).astype(np.float64)
print("max rel err Phi", np.max(np.abs(r/ref-1)[ref>1e-30]), "max abs", np.max(np.abs(r-ref)))
