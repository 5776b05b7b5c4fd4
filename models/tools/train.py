"""Train the tiny try-on U-Net on generated data (seeded, logged, checkpointed, resumable).

/usr/bin/python3 models/tools/train.py --minutes 70          # fresh or resumes ckpt/last.pt
Writes models/tools/ckpt/last.pt every --ckpt-min minutes and a sample grid to
models/tools/out/grid_<step>.png. Log lines go to stdout (run with nohup > train.log).
"""
import argparse
import os
import sys
import time
import math
import copy
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import datagen as dg  # noqa: E402
from model import TryOnUNet, gather_slots, pack, unpack, Schedule, ddim_sample  # noqa: E402

PRED = "sample"  # x0-prediction: the 32-channel top level cannot carry 48-dim noise
P_UNCOND = 0.1
MAX_REFS = 3


def to_t(img):  # uint8 [...,H,W,3] -> float [...,3,H,W] in [-1,1]
    t = torch.from_numpy(np.ascontiguousarray(img)).float() / 127.5 - 1.0
    return t.movedim(-1, -3)


def make_batch(seed, step, B):
    rng = np.random.default_rng([seed, step])
    exs = [dg.make_example(rng, MAX_REFS) for _ in range(B)]
    return collate(exs, rng)


def collate(exs, rng=None, p_uncond=0.0):
    src = to_t(np.stack([e["src"] for e in exs]))
    tgt = to_t(np.stack([e["tgt"] for e in exs]))
    mlat = torch.from_numpy(np.stack([dg.latent_mask(e["mask"]) for e in exs]))[:, None]
    mpix = torch.nn.functional.interpolate(mlat, scale_factor=4, mode="nearest")
    masked = src * (1 - mpix)
    refs = to_t(np.concatenate([e["refs"] for e in exs]))
    cats = torch.from_numpy(np.concatenate([e["cats"] for e in exs])).long()
    counts = [len(e["cats"]) for e in exs]
    drop = torch.zeros(len(exs), dtype=torch.bool)
    if rng is not None and p_uncond > 0:
        drop = torch.from_numpy(rng.random(len(exs)) < p_uncond)
    keep = torch.repeat_interleave((~drop).float(), torch.tensor(counts))
    refs = refs * keep[:, None, None, None]
    return {"x0": pack(tgt), "mask": mlat, "masked": pack(masked), "refs": pack(refs),
            "cats": cats, "counts": counts, "src": src, "tgt": tgt}


def fixed_eval_batch(n=6, seed=12345):
    rng = np.random.default_rng(seed)
    return collate([dg.make_example(rng, MAX_REFS) for _ in range(n)])


@torch.no_grad()
def render_batch(model, batch, steps=20, guidance=2.5, seed=0):
    sched = Schedule()
    kv = model.encode_refs(batch["refs"], batch["cats"])
    kvs, rm = gather_slots(kv, batch["counts"], max(batch["counts"]))
    ukv = model.encode_refs(torch.zeros_like(batch["refs"]), batch["cats"])
    ukvs, _ = gather_slots(ukv, batch["counts"], max(batch["counts"]))
    g = torch.Generator().manual_seed(seed)
    x = ddim_sample(model, sched, batch["mask"], batch["masked"], kvs, rm, ukvs, steps, guidance, g, PRED)
    img = unpack(x).clamp(-1, 1)
    mpix = torch.nn.functional.interpolate(batch["mask"], scale_factor=4, mode="nearest")
    return img * mpix + batch["src"] * (1 - mpix)


def save_grid(path, batch, out):
    from PIL import Image
    rows = []
    pos = 0
    for i, c in enumerate(batch["counts"]):
        refs = [unpack(batch["refs"][pos + j:pos + j + 1])[0] for j in range(c)]
        pos += c
        refs += [torch.zeros(3, 128, 96)] * (MAX_REFS - c)
        mp = torch.nn.functional.interpolate(batch["mask"][i:i + 1], scale_factor=4)[0].repeat(3, 1, 1) * 2 - 1
        row = torch.cat([batch["src"][i], mp, out[i], batch["tgt"][i]] + refs, 2)
        rows.append(row)
    g = torch.cat(rows, 1)
    a = ((g.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
    Image.fromarray(a).save(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=70.0, help="total training time budget")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=4e-4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ckpt", default=os.path.join(HERE, "ckpt"))
    ap.add_argument("--ckpt-min", type=float, default=4.0)
    ap.add_argument("--grid-min", type=float, default=12.0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.ckpt, exist_ok=True)
    os.makedirs(os.path.join(HERE, "out"), exist_ok=True)
    model = TryOnUNet()
    ema = copy.deepcopy(model)
    for p in ema.parameters():
        p.requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    sched = Schedule()
    step, elapsed = 0, 0.0
    last = os.path.join(args.ckpt, "last.pt")
    if os.path.exists(last):
        ck = torch.load(last)
        model.load_state_dict(ck["model"])
        ema.load_state_dict(ck["ema"])
        opt.load_state_dict(ck["opt"])
        step, elapsed = ck["step"], ck["elapsed"]
        torch.set_rng_state(ck["torch_rng"])
        print(f"resumed step {step} elapsed {elapsed/60:.1f} min", flush=True)
    nparam = sum(p.numel() for p in model.parameters())
    print(f"params {nparam} batch {args.batch} budget {args.minutes} min pred {PRED}", flush=True)
    evb = fixed_eval_batch()
    budget = args.minutes * 60
    t_ck = t_grid = time.time()
    losses = []
    t_last = time.time()
    while elapsed < budget:
        t0 = time.time()
        frac = elapsed / budget
        lr = args.lr * min(1.0, (step + 1) / 200) * (0.5 * (1 + math.cos(math.pi * max(0.0, frac - 0.6) / 0.4)) if frac > 0.6 else 1.0)
        lr = max(lr, args.lr * 0.03)
        for gparam in opt.param_groups:
            gparam["lr"] = lr
        rng = np.random.default_rng([args.seed, step, 7])
        exs = [dg.make_example(rng, MAX_REFS) for _ in range(args.batch)]
        b = collate(exs, rng, P_UNCOND)
        x0 = b["x0"]
        B = x0.shape[0]
        t = torch.randint(0, sched.T, (B,))
        a = sched.ac[t][:, None, None, None]
        eps = torch.randn_like(x0)
        xt = a.sqrt() * x0 + (1 - a).sqrt() * eps
        if PRED == "v_prediction":
            target = a.sqrt() * eps - (1 - a).sqrt() * x0
        elif PRED == "sample":
            target = x0
        else:
            target = eps
        kv = model.encode_refs(b["refs"], b["cats"])
        kvs, rm = gather_slots(kv, b["counts"], MAX_REFS)
        out = model.denoise(xt, t.float(), b["mask"], b["masked"], kvs, rm)
        w = 0.1 + b["mask"]
        loss = ((out - target) ** 2 * w).sum() / (w.sum() * x0.shape[1])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        d = min(0.999, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.mul_(d).add_(pm.detach(), alpha=1 - d)
        step += 1
        losses.append(loss.item())
        now = time.time()
        elapsed += now - t0
        if step % 25 == 0:
            print(f"step {step} loss {np.mean(losses):.4f} lr {lr:.2e} {(now - t_last)/25:.2f}s/step "
                  f"elapsed {elapsed/60:.1f}/{args.minutes:.0f} min", flush=True)
            losses = []
            t_last = now
        if now - t_ck > args.ckpt_min * 60 or elapsed >= budget:
            ck = {"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                  "step": step, "elapsed": elapsed, "torch_rng": torch.get_rng_state(), "pred": PRED}
            torch.save(ck, last + ".tmp")
            os.replace(last + ".tmp", last)
            t_ck = time.time()
            print(f"checkpoint step {step}", flush=True)
        if now - t_grid > args.grid_min * 60 or elapsed >= budget:
            tg = time.time()
            out_img = render_batch(ema, evb)
            save_grid(os.path.join(HERE, "out", f"grid_{step:06d}.png"), evb, out_img)
            m = torch.nn.functional.interpolate(evb["mask"], scale_factor=4)
            mse = (((out_img - evb["tgt"]) ** 2) * m).sum() / (m.sum() * 3)
            print(f"grid step {step}: masked mse {mse.item():.4f} ({time.time()-tg:.1f}s)", flush=True)
            t_grid = time.time()
            t_last += time.time() - tg
    print("done", step, flush=True)


if __name__ == "__main__":
    main()
