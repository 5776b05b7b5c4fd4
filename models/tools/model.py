"""Tiny FastFit-style cacheable try-on U-Net (torch 1.13, no SDPA: matmul + softmax).

Latent: exact pixel packing, pixel_unshuffle(4): image [B,3,128,96] -> [B,48,32,24].

U-Net (one ResBlock per level; self-attention only at 16x12 and 8x6 + mid):
  32x24 C0 -> 16x12 C1 (+attn down1) -> 8x6 C2 (+attn down2) -> mid (res, attn, res)
  -> up2 8x6 C2 (+attn) -> up1 16x12 C1 (+attn) -> up0 32x24 C0 -> 48 ch out
The denoiser predicts x_0 ("sample" prediction): output = mask * net + (1 - mask) * masked_latent.
Self-attention layers (K/V cached for references), in order:
  down1.attn, down2.attn, mid.attn, up2.attn, up1.attn
Person branch: conv_in over [noisy latent 48, mask 1, masked latent 48] and a
timestep embedding. Reference branch: its own conv_in over the garment latent and a
category embedding (nn.Embedding(5, E)) in place of the timestep embedding; shares
every other weight. Semi-attention: person queries attend to [own K/V, all refs' K/V]
(slot mask), a reference attends only to itself. The reference pass stops at the
K/V projection of the last self-attention layer.
"""
import math
import torch
import torch.nn as nn
import torch.nn.functional as F

LATENT_C = 48
DOWN = 4
NEG = -1.0e4


def pack(img):
    """image [B,3,H,W] in [-1,1] -> latent [B,48,H/4,W/4] (exact, invertible)."""
    return F.pixel_unshuffle(img, DOWN)


def unpack(lat):
    return F.pixel_shuffle(lat, DOWN)


def timestep_embedding(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None, :]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


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
    """Self-attention + small MLP. Tokens = spatial positions."""

    def __init__(self, c, heads):
        super().__init__()
        self.c, self.heads, self.dim = c, heads, c // heads
        self.norm = gn(c)
        self.q = nn.Linear(c, c)
        self.k = nn.Linear(c, c)
        self.v = nn.Linear(c, c)
        self.o = nn.Linear(c, c)
        self.n2 = nn.LayerNorm(c)
        self.ff1 = nn.Linear(c, 2 * c)
        self.ff2 = nn.Linear(2 * c, c)
        nn.init.zeros_(self.o.weight)
        nn.init.zeros_(self.o.bias)
        nn.init.zeros_(self.ff2.weight)
        nn.init.zeros_(self.ff2.bias)

    def _split(self, x):  # [N,T,C] -> [N,heads,T,dim]
        return x.reshape(x.shape[0], x.shape[1], self.heads, self.dim).transpose(1, 2)

    def tokens(self, h):
        return self.norm(h).flatten(2).transpose(1, 2)  # [N,T,C]

    def kv(self, h):
        x = self.tokens(h)
        return self._split(self.k(x)), self._split(self.v(x))

    def _finish(self, h, q, k, v, bias):
        s = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(self.dim))
        if bias is not None:
            s = s + bias
        a = torch.softmax(s, dim=-1)
        o = torch.matmul(a, v)  # [N,heads,T,dim]
        o = o.transpose(1, 2).reshape(h.shape[0], -1, self.c)
        x = h.flatten(2).transpose(1, 2) + self.o(o)
        x = x + self.ff2(F.gelu(self.ff1(self.n2(x))))
        return x.transpose(1, 2).reshape(h.shape)

    def forward_ref(self, h):
        x = self.tokens(h)
        q, k, v = self._split(self.q(x)), self._split(self.k(x)), self._split(self.v(x))
        return self._finish(h, q, k, v, None), k, v

    def forward_person(self, h, rk, rv, rbias):
        """rk, rv: [B,heads,S*T,dim]; rbias: [B,1,1,S*T] (0 or NEG)."""
        x = self.tokens(h)
        q, k, v = self._split(self.q(x)), self._split(self.k(x)), self._split(self.v(x))
        if rk is None:
            return self._finish(h, q, k, v, None)
        K = torch.cat([k, rk], dim=2)
        V = torch.cat([v, rv], dim=2)
        own = torch.zeros_like(rbias[:, :, :, :1]).expand(-1, -1, -1, k.shape[2])
        bias = torch.cat([own, rbias], dim=3)
        return self._finish(h, q, K, V, bias)


ATTN_NAMES = ["down1.attn", "down2.attn", "mid.attn", "up2.attn", "up1.attn"]


class TryOnUNet(nn.Module):
    def __init__(self, ch=(32, 64, 96), heads=(2, 2), edim=128, n_cat=5):
        super().__init__()
        c0, c1, c2 = ch
        h1, h2 = heads
        self.ch, self.edim = ch, edim
        self.conv_in = nn.Conv2d(LATENT_C * 2 + 1, c0, 3, padding=1)
        self.ref_conv_in = nn.Conv2d(LATENT_C, c0, 3, padding=1)
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
        self.n_out = gn(c0)
        self.conv_out = nn.Conv2d(c0, LATENT_C, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def attn_layers(self):
        return [self.a_d1, self.a_d2, self.a_m, self.a_u2, self.a_u1]

    def kv_layout(self, lh=32, lw=24):
        toks = [(lh // 2) * (lw // 2), (lh // 4) * (lw // 4), (lh // 4) * (lw // 4),
                (lh // 4) * (lw // 4), (lh // 2) * (lw // 2)]
        return [{"name": n, "heads": a.heads, "tokens": t, "dim": a.dim}
                for n, a, t in zip(ATTN_NAMES, self.attn_layers(), toks)]

    # ------------------------------------------------------------------ reference pass
    def encode_refs(self, garment_latent, category):
        """garment_latent [N,48,h,w], category [N] int64 -> list of (k, v) [N,heads,T,dim]."""
        emb = self.cat_emb(category)
        h0 = self.d0(self.ref_conv_in(garment_latent), emb)
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
        k4, v4 = self.a_u1.kv(u)
        return [(k0, v0), (k1, v1), (k2, v2), (k3, v3), (k4, v4)]

    # ------------------------------------------------------------------ denoising pass
    def denoise(self, sample, timestep, mask, masked_latent, ref_kv, ref_mask):
        """ref_kv: list of (k, v) [B,heads,S*T_i,dim] or None; ref_mask [B,S]."""
        emb = self.t_mlp(timestep_embedding(timestep, 64))
        x = torch.cat([sample, mask, masked_latent], 1)
        biases = [None] * 5
        if ref_kv is not None:
            for i, (rk, _) in enumerate(ref_kv):
                S = ref_mask.shape[1]
                T = rk.shape[2] // S
                b = (ref_mask - 1.0) * (-NEG)  # 0 for valid, NEG for padding
                b = b.unsqueeze(2).expand(-1, -1, T).reshape(ref_mask.shape[0], 1, 1, -1)
                biases[i] = b
        rk = [kv[0] for kv in ref_kv] if ref_kv is not None else [None] * 5
        rv = [kv[1] for kv in ref_kv] if ref_kv is not None else [None] * 5
        h0 = self.d0(self.conv_in(x), emb)
        h1 = self.d1(self.ds0(h0), emb)
        h1 = self.a_d1.forward_person(h1, rk[0], rv[0], biases[0])
        h2 = self.d2(self.ds1(h1), emb)
        h2 = self.a_d2.forward_person(h2, rk[1], rv[1], biases[1])
        m = self.m1(h2, emb)
        m = self.a_m.forward_person(m, rk[2], rv[2], biases[2])
        m = self.m2(m, emb)
        u = self.u2(torch.cat([m, h2], 1), emb)
        u = self.a_u2.forward_person(u, rk[3], rv[3], biases[3])
        u = self.us2(F.interpolate(u, scale_factor=2.0, mode="nearest"))
        u = self.u1(torch.cat([u, h1], 1), emb)
        u = self.a_u1.forward_person(u, rk[4], rv[4], biases[4])
        u = self.us1(F.interpolate(u, scale_factor=2.0, mode="nearest"))
        u = self.u0(torch.cat([u, h0], 1), emb)
        x0 = self.conv_out(F.silu(self.n_out(u)))
        # x0-prediction: outside the mask the clean latent is known exactly
        return x0 * mask + masked_latent * (1.0 - mask)


def gather_slots(kv_list, counts, S):
    """kv_list: per-layer (k,v) [N,heads,T,dim] for N = sum(counts) references in
    sample order. Returns per-layer (k,v) [B,heads,S*T,dim] (zero padded) and ref_mask [B,S]."""
    B = len(counts)
    out = []
    for k, v in kv_list:
        N, hh, T, d = k.shape
        idx = []
        pos = 0
        for b, c in enumerate(counts):
            for s in range(c):
                idx.append(b * S + s)
        idx = torch.tensor(idx, dtype=torch.long)
        ks = k.new_zeros(B * S, hh, T, d).index_copy(0, idx, k)
        vs = v.new_zeros(B * S, hh, T, d).index_copy(0, idx, v)
        ks = ks.view(B, S, hh, T, d).permute(0, 2, 1, 3, 4).reshape(B, hh, S * T, d)
        vs = vs.view(B, S, hh, T, d).permute(0, 2, 1, 3, 4).reshape(B, hh, S * T, d)
        out.append((ks, vs))
    m = torch.zeros(B, S)
    for b, c in enumerate(counts):
        m[b, :c] = 1
    return out, m


# ---------------------------------------------------------------------- scheduler
class Schedule:
    def __init__(self, T=1000, beta_start=0.00085, beta_end=0.012):
        self.T = T
        betas = torch.linspace(beta_start ** 0.5, beta_end ** 0.5, T, dtype=torch.float64) ** 2
        self.ac = torch.cumprod(1 - betas, 0).float()

    def timesteps(self, steps):
        """'trailing' spacing: round(T - i*T/steps) - 1 for i in 0..steps-1."""
        return [int(round(self.T - i * self.T / steps)) - 1 for i in range(steps)]


def ddim_sample(model, sched, mask, masked_latent, ref_kv, ref_mask, uncond_kv, steps=20,
                guidance=2.5, gen=None, pred="v_prediction"):
    B = mask.shape[0]
    x = torch.randn(masked_latent.shape, generator=gen)
    ts = sched.timesteps(steps)
    for i, t in enumerate(ts):
        tt = torch.full((B,), float(t))
        if guidance != 1.0:
            kv2 = [(torch.cat([a, c]), torch.cat([b, d])) for (a, b), (c, d) in zip(ref_kv, uncond_kv)]
            out = model.denoise(torch.cat([x, x]), torch.cat([tt, tt]), torch.cat([mask, mask]),
                                torch.cat([masked_latent, masked_latent]), kv2,
                                torch.cat([ref_mask, ref_mask]))
            oc, ou = out.chunk(2)
            out = ou + guidance * (oc - ou)
        else:
            out = model.denoise(x, tt, mask, masked_latent, ref_kv, ref_mask)
        a = sched.ac[t]
        a_prev = sched.ac[ts[i + 1]] if i + 1 < len(ts) else torch.tensor(1.0)
        if pred == "v_prediction":
            x0 = a.sqrt() * x - (1 - a).sqrt() * out
            eps = a.sqrt() * out + (1 - a).sqrt() * x
        elif pred == "sample":
            x0 = out
            eps = (x - a.sqrt() * x0) / (1 - a).sqrt()
        else:
            eps = out
            x0 = (x - (1 - a).sqrt() * eps) / a.sqrt()
        x0 = x0.clamp(-1, 1)
        eps = (x - a.sqrt() * x0) / (1 - a).sqrt()
        x = a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps
    return x


if __name__ == "__main__":
    import time
    torch.set_num_threads(1)
    m = TryOnUNet()
    print("params", sum(p.numel() for p in m.parameters()))
    B, S = 16, 3
    refs = torch.randn(B * 2, 48, 32, 24)
    cats = torch.randint(0, 5, (B * 2,))
    counts = [2] * B
    opt = torch.optim.AdamW(m.parameters(), 1e-4)
    for it in range(4):
        t0 = time.time()
        kv = m.encode_refs(refs, cats)
        kvs, rm = gather_slots(kv, counts, S)
        out = m.denoise(torch.randn(B, 48, 32, 24), torch.rand(B) * 999, torch.ones(B, 1, 32, 24),
                        torch.randn(B, 48, 32, 24), kvs, rm)
        loss = out.pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        print("train step B=16, 2 refs each: %.3f s" % (time.time() - t0))
    with torch.no_grad():
        x1 = torch.randn(1, 48, 32, 24)
        for _ in range(3):
            t0 = time.time()
            for _ in range(10):
                kv = m.encode_refs(x1, torch.tensor([0]))
            tr = (time.time() - t0) / 10
            kvs, rm = gather_slots([(k, v) for k, v in kv] * 1, [1], 1)
            kv5 = [(k.repeat(1, 1, 5, 1), v.repeat(1, 1, 5, 1)) for k, v in kv]
            t0 = time.time()
            for _ in range(10):
                m.denoise(x1, torch.tensor([500.0]), torch.ones(1, 1, 32, 24), x1, kv5, torch.ones(1, 5))
            td = (time.time() - t0) / 10
            print("ref %.2f ms, denoise(5 refs) %.2f ms, ratio %.2f" % (tr * 1e3, td * 1e3, tr / td))


# ---------------------------------------------------------------------- parser
class _CBR(nn.Sequential):
    def __init__(self, cin, cout, stride=1, dil=1):
        super().__init__(nn.Conv2d(cin, cout, 3, stride=stride, padding=dil, dilation=dil),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Parser(nn.Module):
    """image [B,3,128,96] in [-1,1] -> logits [B,n_labels,128,96]."""

    def __init__(self, n_labels=12):
        super().__init__()
        self.e0 = nn.Sequential(_CBR(3, 24), _CBR(24, 24))
        self.e1 = nn.Sequential(_CBR(24, 32, 2), _CBR(32, 32))
        self.e2 = nn.Sequential(_CBR(32, 48, 2), _CBR(48, 48))
        self.e3 = nn.Sequential(_CBR(48, 64, 2), _CBR(64, 64, dil=2), _CBR(64, 64, dil=4))
        self.d2 = _CBR(64 + 48, 48)
        self.d1 = _CBR(48 + 32, 32)
        self.d0 = _CBR(32 + 24, 24)
        self.out = nn.Conv2d(24, n_labels, 1)

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
