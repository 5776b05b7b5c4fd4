"""Tiny FastFit-style cacheable try-on U-Net, version 2 (torch 1.13, no SDPA: matmul + softmax).

Latent: exact pixel packing, pixel_unshuffle(4): image [B,3,128,96] -> [B,48,32,24].
Garment references are packed the same way at their category's reference size
(REF_SIZE: clothing 128x96 -> latent 32x24; shoes and bags 64x48 -> 16x12).

U-Net (one ResBlock per level, two at the top of the decoder):
  32x24 C0 -> 16x12 C1 (+attn down1) -> 8x6 C2 (+attn down2) -> mid (res, attn, res)
  -> up2 8x6 C2 (+attn) -> up1 16x12 C1 (+attn) -> up0 32x24 C0 (+attn up0, res) -> 48 ch out
Both branches see two coordinate channels (x, y in [-1, 1] over their own image), so
attention can match a place on the body with the same place on the product shot.
The denoiser predicts x_0 ("sample" prediction): output = mask * net + (1 - mask) * masked_latent.
Self-attention layers (K/V cached for references), in order: ATTN_NAMES.
Person branch: conv_in over [noisy latent 48, mask 1, masked latent 48, coords 2] and a
timestep embedding. Reference branch: its own conv_in over [garment latent 48, coords 2]
and a category embedding (nn.Embedding(5, E)) in place of the timestep embedding; shares
every other weight. Semi-attention: person queries attend to [own K/V, the outfit's
reference K/V] (an additive bias of NEG hides padding), a reference attends only to
itself. The reference pass stops at the K/V projection of the last self-attention layer.
"""
import math
import torch
import torch.nn as nn
import torch.nn.functional as F

LATENT_C = 48
DOWN = 4
NEG = -1.0e4
CATEGORIES = ["TOP", "BOTTOM", "DRESS", "SHOES", "BAG"]
# reference image size (height, width) per category
REF_SIZE = {"TOP": (128, 96), "BOTTOM": (128, 96), "DRESS": (128, 96), "SHOES": (64, 48), "BAG": (64, 48)}


def pack(img):
    """image [B,3,H,W] in [-1,1] -> latent [B,48,H/4,W/4] (exact, invertible)."""
    return F.pixel_unshuffle(img, DOWN)


def unpack(lat):
    return F.pixel_shuffle(lat, DOWN)


def timestep_embedding(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None, :]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


def with_coords(x):
    """x [B,C,H,W] -> [B,C+2,H,W] with y and x pixel-centre coordinates in [-1, 1]."""
    B, _, H, W = x.shape
    ys = (torch.arange(H, dtype=x.dtype, device=x.device) + 0.5) * (2.0 / H) - 1.0
    xs = (torch.arange(W, dtype=x.dtype, device=x.device) + 0.5) * (2.0 / W) - 1.0
    yy = ys.view(1, 1, H, 1).expand(B, 1, H, W)
    xx = xs.view(1, 1, 1, W).expand(B, 1, H, W)
    return torch.cat([x, yy, xx], 1)


def gn(c):
    return nn.GroupNorm(8, c)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, edim):
        super().__init__()
        self.n1 = gn(cin)
        self.c1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.e = nn.Linear(edim, cout * 2)
        self.n2 = gn(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()
        nn.init.zeros_(self.c2.weight)
        nn.init.zeros_(self.c2.bias)

    def forward(self, x, emb):
        h = self.c1(F.silu(self.n1(x)))
        scale, shift = self.e(F.silu(emb))[:, :, None, None].chunk(2, dim=1)
        h = self.n2(h) * (1 + scale) + shift
        h = self.c2(F.silu(h))
        return self.skip(x) + h


class Attn(nn.Module):
    """Self-attention (heads x dim inner width) + small MLP. Tokens = spatial positions."""

    def __init__(self, c, heads, dim=None):
        super().__init__()
        dim = dim or c // heads
        self.c, self.heads, self.dim = c, heads, dim
        inner = heads * dim
        self.norm = gn(c)
        self.q = nn.Linear(c, inner)
        self.k = nn.Linear(c, inner)
        self.v = nn.Linear(c, inner)
        self.o = nn.Linear(inner, c)
        self.n2 = nn.LayerNorm(c)
        self.ff1 = nn.Linear(c, 2 * c)
        self.ff2 = nn.Linear(2 * c, c)
        nn.init.zeros_(self.o.weight)
        nn.init.zeros_(self.o.bias)
        nn.init.zeros_(self.ff2.weight)
        nn.init.zeros_(self.ff2.bias)

    def _split(self, x):  # [N,T,heads*dim] -> [N,heads,T,dim]
        return x.reshape(x.shape[0], x.shape[1], self.heads, self.dim).transpose(1, 2)

    def tokens(self, h):
        return self.norm(h).flatten(2).transpose(1, 2)  # [N,T,C]

    def kv(self, h):
        x = self.tokens(h)
        return self._split(self.k(x)), self._split(self.v(x))

    def _finish(self, h, q, k, v, bias):
        s = torch.matmul(q * (1.0 / math.sqrt(self.dim)), k.transpose(-1, -2))
        if bias is not None:
            s = s + bias
        a = torch.softmax(s, dim=-1)
        o = torch.matmul(a, v)  # [N,heads,T,dim]
        o = o.transpose(1, 2).reshape(h.shape[0], -1, self.heads * self.dim)
        x = h.flatten(2).transpose(1, 2) + self.o(o)
        x = x + self.ff2(F.gelu(self.ff1(self.n2(x))))
        return x.transpose(1, 2).reshape(h.shape)

    def forward_ref(self, h):
        x = self.tokens(h)
        q, k, v = self._split(self.q(x)), self._split(self.k(x)), self._split(self.v(x))
        return self._finish(h, q, k, v, None), k, v

    def forward_person(self, h, rk, rv, rbias):
        """rk, rv: [B,heads,R,dim] (the outfit's reference tokens); rbias: [B,1,1,R] (0 or NEG)."""
        x = self.tokens(h)
        q, k, v = self._split(self.q(x)), self._split(self.k(x)), self._split(self.v(x))
        if rk is None:
            return self._finish(h, q, k, v, None)
        K = torch.cat([k, rk.to(k.dtype)], dim=2)
        V = torch.cat([v, rv.to(v.dtype)], dim=2)
        own = torch.zeros_like(rbias[:, :, :, :1]).expand(-1, -1, -1, k.shape[2])
        bias = torch.cat([own, rbias.to(k.dtype)], dim=3)
        return self._finish(h, q, K, V, bias)


ATTN_NAMES = ["down1.attn", "down2.attn", "mid.attn", "up2.attn", "up1.attn", "up0.attn"]
# token grid of each attention layer as a fraction of the latent grid (1 = full, 2 = half, ...)
ATTN_STRIDE = [2, 4, 4, 4, 2, 1]


class TryOnUNet(nn.Module):
    def __init__(self, ch=(64, 96, 128), heads=(2, 2), top_attn=(1, 32), edim=128, n_cat=5):
        super().__init__()
        c0, c1, c2 = ch
        h1, h2 = heads
        self.ch, self.edim = ch, edim
        self.conv_in = nn.Conv2d(LATENT_C * 2 + 1 + 2, c0, 3, padding=1)
        self.ref_conv_in = nn.Conv2d(LATENT_C + 2, c0, 3, padding=1)
        self.t_mlp = nn.Sequential(nn.Linear(64, edim), nn.SiLU(), nn.Linear(edim, edim))
        self.cat_emb = nn.Embedding(n_cat, edim)
        self.d0 = ResBlock(c0, c0, edim)
        self.ds0 = nn.Conv2d(c0, c0, 3, stride=2, padding=1)
        self.d1 = ResBlock(c0, c1, edim)
        self.a_d1 = Attn(c1, h1)
        self.ds1 = nn.Conv2d(c1, c1, 3, stride=2, padding=1)
        self.d2 = ResBlock(c1, c2, edim)
        self.a_d2 = Attn(c2, h2)
        self.m1 = ResBlock(c2, c2, edim)
        self.a_m = Attn(c2, h2)
        self.m2 = ResBlock(c2, c2, edim)
        self.u2 = ResBlock(c2 + c2, c2, edim)
        self.a_u2 = Attn(c2, h2)
        self.us2 = nn.Conv2d(c2, c1, 3, padding=1)
        self.u1 = ResBlock(c1 + c1, c1, edim)
        self.a_u1 = Attn(c1, h1)
        self.us1 = nn.Conv2d(c1, c0, 3, padding=1)
        self.u0 = ResBlock(c0 + c0, c0, edim)
        self.a_u0 = Attn(c0, top_attn[0], top_attn[1])
        self.u0b = ResBlock(c0, c0, edim)
        self.n_out = gn(c0)
        self.conv_out = nn.Conv2d(c0, LATENT_C, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def attn_layers(self):
        return [self.a_d1, self.a_d2, self.a_m, self.a_u2, self.a_u1, self.a_u0]

    def kv_layout(self, lh=32, lw=24):
        """Per attention layer: name, heads, tokens (for a reference latent of lh x lw), dim."""
        return [{"name": n, "heads": a.heads, "tokens": (lh // s) * (lw // s), "dim": a.dim}
                for n, a, s in zip(ATTN_NAMES, self.attn_layers(), ATTN_STRIDE)]

    # ------------------------------------------------------------------ reference pass
    def encode_refs(self, garment_latent, category):
        """garment_latent [N,48,h,w] (one size), category [N] int64 -> list of (k, v) [N,heads,T,dim]."""
        emb = self.cat_emb(category)
        h0 = self.d0(self.ref_conv_in(with_coords(garment_latent)), emb)
        h1 = self.d1(self.ds0(h0), emb)
        h1, k0, v0 = self.a_d1.forward_ref(h1)
        h2 = self.d2(self.ds1(h1), emb)
        h2, k1, v1 = self.a_d2.forward_ref(h2)
        m = self.m1(h2, emb)
        m, k2, v2 = self.a_m.forward_ref(m)
        m = self.m2(m, emb)
        u = self.u2(torch.cat([m, h2], 1), emb)
        u, k3, v3 = self.a_u2.forward_ref(u)
        u = self.us2(F.interpolate(u, scale_factor=2.0, mode="nearest"))
        u = self.u1(torch.cat([u, h1], 1), emb)
        u, k4, v4 = self.a_u1.forward_ref(u)
        u = self.us1(F.interpolate(u, scale_factor=2.0, mode="nearest"))
        u = self.u0(torch.cat([u, h0], 1), emb)
        k5, v5 = self.a_u0.kv(u)
        return [(k0, v0), (k1, v1), (k2, v2), (k3, v3), (k4, v4), (k5, v5)]

    # ------------------------------------------------------------------ denoising pass
    def denoise(self, sample, timestep, mask, masked_latent, ref_kv, ref_bias):
        """ref_kv: per layer (k, v) [B,heads,R_i,dim] or None; ref_bias: per layer [B,1,1,R_i]
        (0 for a real reference token, NEG for padding)."""
        emb = self.t_mlp(timestep_embedding(timestep, 64))
        x = with_coords(torch.cat([sample, mask, masked_latent], 1))
        n = len(ATTN_NAMES)
        rk = [kv[0] for kv in ref_kv] if ref_kv is not None else [None] * n
        rv = [kv[1] for kv in ref_kv] if ref_kv is not None else [None] * n
        rb = ref_bias if ref_bias is not None else [None] * n
        h0 = self.d0(self.conv_in(x), emb)
        h1 = self.d1(self.ds0(h0), emb)
        h1 = self.a_d1.forward_person(h1, rk[0], rv[0], rb[0])
        h2 = self.d2(self.ds1(h1), emb)
        h2 = self.a_d2.forward_person(h2, rk[1], rv[1], rb[1])
        m = self.m1(h2, emb)
        m = self.a_m.forward_person(m, rk[2], rv[2], rb[2])
        m = self.m2(m, emb)
        u = self.u2(torch.cat([m, h2], 1), emb)
        u = self.a_u2.forward_person(u, rk[3], rv[3], rb[3])
        u = self.us2(F.interpolate(u, scale_factor=2.0, mode="nearest"))
        u = self.u1(torch.cat([u, h1], 1), emb)
        u = self.a_u1.forward_person(u, rk[4], rv[4], rb[4])
        u = self.us1(F.interpolate(u, scale_factor=2.0, mode="nearest"))
        u = self.u0(torch.cat([u, h0], 1), emb)
        u = self.a_u0.forward_person(u, rk[5], rv[5], rb[5])
        u = self.u0b(u, emb)
        x0 = self.conv_out(F.silu(self.n_out(u)))
        # x0-prediction: outside the mask the clean latent is known exactly
        return x0 * mask + masked_latent * (1.0 - mask)


def gather_refs(per_sample, n_layers=None):
    """per_sample: for each batch row, a list of (kv_list, index): the row's references in
    slot order, each the index-th item of a per-layer [(k, v)] list from encode_refs.
    Returns per-layer (k, v) [B,heads,R_i,dim] (zero padded to the longest row) and per-layer
    bias [B,1,1,R_i] (0 real, NEG padding)."""
    B = len(per_sample)
    first = next(kvl for row in per_sample for kvl, _ in row)
    n_layers = len(first)
    kv_out, bias_out = [], []
    for li in range(n_layers):
        ks, vs, lens = [], [], []
        for row in per_sample:
            if row:
                k = torch.cat([kvl[li][0][i] for kvl, i in row], dim=1)
                v = torch.cat([kvl[li][1][i] for kvl, i in row], dim=1)
            else:
                hh, d = first[li][0].shape[1], first[li][0].shape[3]
                k = first[li][0].new_zeros(hh, 0, d)
                v = k
            ks.append(k)
            vs.append(v)
            lens.append(k.shape[1])
        R = max(max(lens), 1)
        hh, d = first[li][0].shape[1], first[li][0].shape[3]
        K = first[li][0].new_zeros(B, hh, R, d)
        V = first[li][0].new_zeros(B, hh, R, d)
        bias = first[li][0].new_full((B, 1, 1, R), NEG)
        for b in range(B):
            K[b, :, :lens[b]] = ks[b]
            V[b, :, :lens[b]] = vs[b]
            bias[b, :, :, :lens[b]] = 0.0
        kv_out.append((K, V))
        bias_out.append(bias)
    return kv_out, bias_out


# ---------------------------------------------------------------------- scheduler
class Schedule:
    def __init__(self, T=1000, beta_start=0.00085, beta_end=0.012):
        self.T = T
        betas = torch.linspace(beta_start ** 0.5, beta_end ** 0.5, T, dtype=torch.float64) ** 2
        self.ac = torch.cumprod(1 - betas, 0).float()

    def timesteps(self, steps):
        """'trailing' spacing: round(T - i*T/steps) - 1 for i in 0..steps-1."""
        return [int(round(self.T - i * self.T / steps)) - 1 for i in range(steps)]


def ddim_sample(model, sched, mask, masked_latent, ref_kv, ref_bias, uncond_kv, steps=20,
                guidance=2.5, gen=None, pred="sample"):
    """Deterministic DDIM with classifier-free guidance; uncond_kv has ref_kv's layout."""
    B = mask.shape[0]
    x = torch.randn(masked_latent.shape, generator=gen).to(masked_latent.device)
    ts = sched.timesteps(steps)
    ac = sched.ac.to(masked_latent.device)
    for i, t in enumerate(ts):
        tt = torch.full((B,), float(t), device=x.device)
        if guidance != 1.0:
            kv2 = [(torch.cat([a, c]), torch.cat([b, d])) for (a, b), (c, d) in zip(ref_kv, uncond_kv)]
            bias2 = [torch.cat([bb, bb]) for bb in ref_bias]
            out = model.denoise(torch.cat([x, x]), torch.cat([tt, tt]), torch.cat([mask, mask]),
                                torch.cat([masked_latent, masked_latent]), kv2, bias2)
            oc, ou = out.chunk(2)
            out = ou + guidance * (oc - ou)
        else:
            out = model.denoise(x, tt, mask, masked_latent, ref_kv, ref_bias)
        a = ac[t]
        a_prev = ac[ts[i + 1]] if i + 1 < len(ts) else torch.tensor(1.0, device=x.device)
        if pred == "v_prediction":
            x0 = a.sqrt() * x - (1 - a).sqrt() * out
        elif pred == "sample":
            x0 = out
        else:
            x0 = (x - (1 - a).sqrt() * out) / a.sqrt()
        x0 = x0.clamp(-1, 1)
        eps = (x - a.sqrt() * x0) / (1 - a).sqrt()
        x = a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps
    return x


# ---------------------------------------------------------------------- parser
class _CBR(nn.Sequential):
    def __init__(self, cin, cout, stride=1, dil=1):
        super().__init__(nn.Conv2d(cin, cout, 3, stride=stride, padding=dil, dilation=dil),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Parser(nn.Module):
    """image [B,3,128,96] in [-1,1] -> logits [B,n_labels,128,96]."""

    def __init__(self, n_labels=12, widths=(24, 32, 48, 64)):
        super().__init__()
        a, b, c, d = widths
        self.e0 = nn.Sequential(_CBR(3, a), _CBR(a, a))
        self.e1 = nn.Sequential(_CBR(a, b, 2), _CBR(b, b))
        self.e2 = nn.Sequential(_CBR(b, c, 2), _CBR(c, c))
        self.e3 = nn.Sequential(_CBR(c, d, 2), _CBR(d, d, dil=2), _CBR(d, d, dil=4))
        self.d2 = _CBR(d + c, c)
        self.d1 = _CBR(c + b, b)
        self.d0 = _CBR(b + a, a)
        self.out = nn.Conv2d(a, n_labels, 1)

    def forward(self, x):
        up = lambda t: F.interpolate(t, scale_factor=2.0, mode="nearest")
        h0 = self.e0(x)
        h1 = self.e1(h0)
        h2 = self.e2(h1)
        h3 = self.e3(h2)
        y = self.d2(torch.cat([up(h3), h2], 1))
        y = self.d1(torch.cat([up(y), h1], 1))
        y = self.d0(torch.cat([up(y), h0], 1))
        return self.out(y)
