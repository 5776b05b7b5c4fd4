"""Python-side quality check of a checkpoint on held-out cases (torch, not ONNX): quick feedback
while training, with the same headline figures as `npm run eval:quality` (which runs the
exported package through the engine and is the measurement that counts).

/usr/bin/python3 models/tools/eval.py [--ckpt models/tools/ckpt/last.pt | --weights W.pt]
                                      [--cases DIR] [--n N] [--guidance G] [--steps S]
Renders each case (DDIM, 20 steps, guidance 2.5 by default) inside the case's own mask (the
engine uses its parsed mask instead), and reports against the photo returned unchanged:
changed-pixel MAE (truth differs from the photo by more than 24 in summed RGB), SSIM with a 7x7
uniform window over the case's mask, and the cases beating the photo on both.
Writes models/tools/out/heldout_grid.png (source, mask, render, truth, garments).
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
from model import TryOnUNet  # noqa: E402
from train import ref_image, to_tensors, render_batch  # noqa: E402


def load_img(p):
    return np.array(Image.open(p).convert("RGB"))


def ssim_map(a, b, gaussian=False):
    """a, b float [H,W,3] in 0..255 -> SSIM map [H,W] averaged over channels (7x7 uniform window,
    or the gaussian 11/1.5 one)."""
    C1, C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    x = torch.from_numpy(a).permute(2, 0, 1)[:, None].double()
    y = torch.from_numpy(b).permute(2, 0, 1)[:, None].double()
    if gaussian:
        g = torch.exp(-((torch.arange(11) - 5.0) ** 2) / (2 * 1.5 ** 2)).double()
        g = g / g.sum()
    else:
        g = torch.full((7,), 1.0 / 7).double()
    r = (len(g) - 1) // 2
    k = (g[:, None] * g[None, :])[None, None]
    f = lambda t: F.conv2d(F.pad(t, (r, r, r, r), mode="replicate"), k)
    mx, my = f(x), f(y)
    sxx, syy, sxy = f(x * x) - mx * mx, f(y * y) - my * my, f(x * y) - mx * my
    s = ((2 * mx * my + C1) * (2 * sxy + C2)) / ((mx * mx + my * my + C1) * (sxx + syy + C2))
    return s[:, 0].mean(0).numpy()


def load_model(args):
    if args.weights:
        w = torch.load(args.weights, map_location="cpu")
        cfg, step = {}, "?"
    else:
        ck = torch.load(args.ckpt, map_location="cpu")
        w, cfg, step = ck["ema"], ck.get("config", {}), ck["step"]
    model = TryOnUNet(**cfg)
    model.load_state_dict({k: v.float() for k, v in w.items()})
    return model.eval(), step


def case_batch(person, truth, mask, garments, categories):
    """One held-out case as train.py's batch (references at their category's size)."""
    ex = {"src": person[None], "tgt": truth[None], "mask": dg.latent_mask(mask)[None], "slots": [[]]}
    groups = {}
    for g, c in zip(garments, categories):
        r = ref_image(g, c)
        groups.setdefault(r.shape[:2], []).append((r, dg.CAT_ID[c]))
        ex["slots"][0].append((r.shape[:2], len(groups[r.shape[:2]]) - 1))
    ex["refs"] = {k: (np.stack([x[0] for x in v]).astype(np.float32), np.array([x[1] for x in v], np.int64))
                  for k, v in groups.items()}
    return to_tensors(ex, torch.device("cpu"))


def score(out, person, truth, mask):
    changed = np.abs(truth.astype(int) - person.astype(int)).sum(-1) > 24
    mae_m = np.abs(out.astype(float) - truth)[changed].mean() if changed.any() else 0.0
    mae_i = np.abs(person.astype(float) - truth)[changed].mean() if changed.any() else 0.0
    ss_m = float(ssim_map(out.astype(np.float64), truth.astype(np.float64))[mask].mean())
    ss_i = float(ssim_map(person.astype(np.float64), truth.astype(np.float64))[mask].mean())
    return {"n": int(changed.sum()), "mae_model": float(mae_m), "mae_identity": float(mae_i),
            "ssim_model": ss_m, "ssim_identity": ss_i}


def summarize(res, step, args, t0):
    pooled = lambda rs, k: sum(r[k] * r["n"] for r in rs) / max(sum(r["n"] for r in rs), 1)
    many = [r for r in res if len(r["cats"]) >= 4]
    return {
        "step": step, "cases": len(res), "guidance": args.guidance, "steps": args.steps,
        "maeChangedModel": round(pooled(res, "mae_model"), 2), "maeChangedIdentity": round(pooled(res, "mae_identity"), 2),
        "maeChangedRatio": round(pooled(res, "mae_model") / pooled(res, "mae_identity"), 4),
        "maeChangedRatio45": round(pooled(many, "mae_model") / max(pooled(many, "mae_identity"), 1e-9), 4) if many else None,
        "ssimRegionModel": round(float(np.mean([r["ssim_model"] for r in res])), 4),
        "ssimRegionIdentity": round(float(np.mean([r["ssim_identity"] for r in res])), 4),
        "casesBeatingIdentity": sum(r["mae_model"] < r["mae_identity"] and r["ssim_model"] > r["ssim_identity"] for r in res),
        "secondsPerCase": round((time.time() - t0) / len(res), 2),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=os.path.join(HERE, "ckpt", "last.pt"))
    ap.add_argument("--weights", default=None)
    ap.add_argument("--cases", default=os.path.join(HERE, "..", "tryon-tiny"))
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--guidance", type=float, default=2.5)
    ap.add_argument("--n", type=int, default=0, help="only the first n cases")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--grid", default=os.path.join(HERE, "out", "heldout_grid.png"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model, step = load_model(args)
    idx = json.load(open(os.path.join(args.cases, "samples", "index.json")))
    sd = os.path.join(args.cases, "samples")
    res, rows = [], []
    t0 = time.time()
    cases = idx["heldout"][:args.n] if args.n else idx["heldout"]
    for i, h in enumerate(cases):
        person = load_img(os.path.join(sd, h["person"]))
        truth = load_img(os.path.join(sd, h["truth"]))
        mask = np.array(Image.open(os.path.join(sd, h["mask"]))) > 127
        gar = [load_img(os.path.join(sd, g)) for g in h["garments"]]
        batch = case_batch(person, truth, mask, gar, h["categories"])
        with torch.no_grad():
            img = render_batch(model, batch, args.steps, args.guidance, seed=i)
        out = ((img[0].permute(1, 2, 0).numpy() + 1) * 127.5).round().clip(0, 255).astype(np.uint8)
        r = {"id": h["id"], "cats": h["categories"], **score(out, person, truth, mask)}
        res.append(r)
        print(f"{h['id']:>4} {'+'.join(h['categories']):<24} changed MAE {r['mae_model']:5.1f} vs photo "
              f"{r['mae_identity']:5.1f}  region SSIM {r['ssim_model']:.3f} vs photo {r['ssim_identity']:.3f}", flush=True)
        g4 = gar + [np.full_like(person, 128)] * (4 - len(gar))
        rows.append(np.concatenate([person, np.repeat(mask[..., None] * 255, 3, 2).astype(np.uint8), out, truth] + g4[:4], 1))
    os.makedirs(os.path.dirname(args.grid), exist_ok=True)
    Image.fromarray(np.concatenate(rows, 0)).save(args.grid)
    print(json.dumps(summarize(res, step, args, t0)))


if __name__ == "__main__":
    main()
