"""Python-side quality check on the package's held-out cases (torch, not ONNX).

/usr/bin/python3 models/tools/eval.py [--ckpt models/tools/ckpt/last.pt] [--pkg models/tryon-tiny]
Renders every held-out case (DDIM, manifest steps and guidance), pastes the unmasked
area back, and reports SSIM inside the mask against the ground truth, next to a naive
baseline that pastes each garment's product image (cropped to its non-white box)
resized into the bounding box of the mask. Writes models/tools/out/heldout_grid.png.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import datagen as dg  # noqa: E402
from model import TryOnUNet, gather_slots, pack, unpack, Schedule, ddim_sample  # noqa: E402


def load_img(p):
    return np.array(Image.open(p).convert("RGB"))


def ssim_map(a, b):
    """a, b float [H,W,3] in 0..255 -> SSIM map [H,W] (gaussian 11, sigma 1.5, mean of channels)."""
    C1, C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    x = torch.from_numpy(a).permute(2, 0, 1)[:, None].double()
    y = torch.from_numpy(b).permute(2, 0, 1)[:, None].double()
    g = torch.exp(-((torch.arange(11) - 5.0) ** 2) / (2 * 1.5 ** 2)).double()
    g = (g / g.sum())
    k = (g[:, None] * g[None, :])[None, None]
    f = lambda t: F.conv2d(t, k, padding=5)
    mx, my = f(x), f(y)
    sxx, syy, sxy = f(x * x) - mx * mx, f(y * y) - my * my, f(x * y) - mx * my
    s = ((2 * mx * my + C1) * (2 * sxy + C2)) / ((mx * mx + my * my + C1) * (sxx + syy + C2))
    return s[:, 0].mean(0).numpy()


def baseline(person, garments, mask):
    out = person.copy()
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return out
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    for gimg in garments:
        nz = np.nonzero((gimg < 245).any(-1))
        crop = gimg[nz[0].min():nz[0].max() + 1, nz[1].min():nz[1].max() + 1] if len(nz[0]) else gimg
        r = np.array(Image.fromarray(crop).resize((x1 - x0, y1 - y0), Image.BILINEAR))
        keep = (r < 245).any(-1) & mask[y0:y1, x0:x1]
        out[y0:y1, x0:x1][keep] = r[keep]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=os.path.join(HERE, "ckpt", "last.pt"))
    ap.add_argument("--pkg", default=os.path.join(HERE, "..", "tryon-tiny"))
    ap.add_argument("--steps", type=int, default=0)
    ap.add_argument("--guidance", type=float, default=-1)
    ap.add_argument("--n", type=int, default=0, help="only the first n cases")
    ap.add_argument("--grid", default=os.path.join(HERE, "out", "heldout_grid.png"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    man = json.load(open(os.path.join(args.pkg, "manifest.json")))
    steps = args.steps or man["scheduler"]["defaultSteps"]
    guidance = args.guidance if args.guidance >= 0 else man["scheduler"]["guidanceScale"]
    ck = torch.load(args.ckpt)
    model = TryOnUNet()
    model.load_state_dict(ck["ema"])
    model.eval()
    idx = json.load(open(os.path.join(args.pkg, "samples", "index.json")))
    sd = os.path.join(args.pkg, "samples")
    sched = Schedule()
    res, rows = [], []
    t0 = time.time()
    cases = idx["heldout"][:args.n] if args.n else idx["heldout"]
    for i, h in enumerate(cases):
        person = load_img(os.path.join(sd, h["person"]))
        truth = load_img(os.path.join(sd, h["truth"]))
        mask = np.array(Image.open(os.path.join(sd, h["mask"]))) > 127
        gar = [load_img(os.path.join(sd, g)) for g in h["garments"]]
        cats = torch.tensor([dg.CAT_ID[c] for c in h["categories"]])
        tt = lambda a: torch.from_numpy(a).float().permute(2, 0, 1)[None] / 127.5 - 1
        mlat = torch.from_numpy(dg.latent_mask(mask))[None, None]
        mpix = F.interpolate(mlat, scale_factor=4)
        src = tt(person)
        masked = pack(src * (1 - mpix))
        refs = pack(torch.cat([tt(g) for g in gar]))
        with torch.no_grad():
            kvs, rm = gather_slots(model.encode_refs(refs, cats), [len(gar)], len(gar))
            ukvs, _ = gather_slots(model.encode_refs(torch.zeros_like(refs), cats), [len(gar)], len(gar))
            x = ddim_sample(model, sched, mlat, masked, kvs, rm, ukvs, steps, guidance,
                            torch.Generator().manual_seed(i), man["scheduler"]["predictionType"])
        img = unpack(x).clamp(-1, 1) * mpix + src * (1 - mpix)
        out = ((img[0].permute(1, 2, 0).numpy() + 1) * 127.5).round().clip(0, 255).astype(np.uint8)
        base = baseline(person, gar, mask)
        sm = ssim_map(out.astype(np.float64), truth.astype(np.float64))
        sb = ssim_map(base.astype(np.float64), truth.astype(np.float64))
        r = {"id": h["id"], "cats": h["categories"], "ssim_model": float(sm[mask].mean()),
             "ssim_baseline": float(sb[mask].mean()),
             "psnr_model": float(10 * np.log10(255 ** 2 / np.mean((out[mask].astype(float) - truth[mask]) ** 2)))}
        res.append(r)
        print(f"{h['id']:>4} {'+'.join(h['categories']):<22} ssim model {r['ssim_model']:.3f} "
              f"baseline {r['ssim_baseline']:.3f} psnr {r['psnr_model']:.1f}", flush=True)
        g3 = gar + [np.full_like(person, 128)] * (3 - len(gar))
        rows.append(np.concatenate([person, np.repeat(mask[..., None] * 255, 3, 2).astype(np.uint8), out, truth, base] + g3[:3], 1))
    sm = np.mean([r["ssim_model"] for r in res])
    sb = np.mean([r["ssim_baseline"] for r in res])
    wins = sum(r["ssim_model"] > r["ssim_baseline"] for r in res)
    print(f"mean masked SSIM model {sm:.4f} baseline {sb:.4f}; model wins {wins}/{len(res)}; "
          f"{(time.time()-t0)/len(res):.2f}s per case (steps {steps}, guidance {guidance}, ckpt step {ck['step']})")
    os.makedirs(os.path.dirname(args.grid), exist_ok=True)
    Image.fromarray(np.concatenate(rows, 0)).save(args.grid)
    json.dump({"mean_ssim_model": sm, "mean_ssim_baseline": sb, "wins": wins, "cases": res},
              open(os.path.splitext(args.grid)[0] + ".json", "w"), indent=1)


if __name__ == "__main__":
    main()
