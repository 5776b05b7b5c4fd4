"""Train the try-on U-Net on generated data (seeded, logged, checkpointed, resumable).

/usr/bin/python3 models/tools/train.py --minutes 300                 # CPU: fresh, or resumes ckpt/last.pt
python3 models/tools/train.py --minutes 8 --device cuda --batch 64 --workers 14
                                                                     # an accelerator: bf16 autocast
/usr/bin/python3 models/tools/train.py --tiny --minutes 0.5 --ckpt /tmp/tiny
                                                                     # smoke test: tiny widths, end to end

Examples come from datagen.py, made by --workers processes ahead of the training loop (each
batch is a pure function of (seed, step), so a resumed run sees the same data as an
uninterrupted one). Writes <ckpt>/last.pt every --ckpt-min minutes and at the end, and a
sample grid to models/tools/out/grid_<step>.png every --grid-min minutes. Log lines go to
stdout (run it with nohup > train.log). --weights-out writes the EMA weights as a float16
state dict at the end (what is committed; export.py reads either).
"""
import argparse
import contextlib
import copy
import math
import multiprocessing as mp
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import datagen as dg  # noqa: E402
from model import (TryOnUNet, gather_refs, pack, unpack, Schedule, ddim_sample,  # noqa: E402
                   REF_SIZE, CATEGORIES)

PRED = "sample"  # x0-prediction: the pixel-packed latent has more channels than the top level
P_UNCOND = 0.1
MAX_REFS = 4
TINY = dict(ch=(16, 16, 16), heads=(1, 1), top_attn=(1, 8), edim=16)


def model_config(tiny):
    return TINY if tiny else {}


def ref_image(img, category):
    """A product shot [128,96,3] at its category's reference size (what the engine feeds)."""
    h, w = REF_SIZE[category]
    if (h, w) == img.shape[:2]:
        return img
    from PIL import Image
    return np.asarray(Image.fromarray(img).resize((w, h), Image.LANCZOS))


def make_batch(args):
    """(seed, step, batch, p_uncond) -> numpy arrays of one training batch (runs in a worker)."""
    seed, step, batch, p_uncond = args
    rng = np.random.default_rng([seed, step, 7])
    exs = [dg.make_example(rng, MAX_REFS) for _ in range(batch)]
    drop = rng.random(batch) < p_uncond
    return collate_np(exs, drop)


def collate_np(exs, drop=None):
    src = np.stack([e["src"] for e in exs])
    tgt = np.stack([e["tgt"] for e in exs])
    mlat = np.stack([dg.latent_mask(e["mask"]) for e in exs])
    groups = {}  # (h, w) -> list of (image, category id)
    slots = []  # per example: list of (group key, index)
    for i, e in enumerate(exs):
        row = []
        for img, cat in zip(e["refs"], e["cats"]):
            r = ref_image(img, CATEGORIES[cat])
            if drop is not None and drop[i]:
                r = np.full_like(r, 127.5, dtype=np.float32)  # zero in [-1, 1]: a dropped reference
            key = r.shape[:2]
            groups.setdefault(key, []).append((r, int(cat)))
            row.append((key, len(groups[key]) - 1))
        slots.append(row)
    refs = {k: (np.stack([g[0] for g in v]).astype(np.float32), np.array([g[1] for g in v], np.int64))
            for k, v in groups.items()}
    return {"src": src, "tgt": tgt, "mask": mlat, "refs": refs, "slots": slots}


def to_t(img, device):  # uint8/float [...,H,W,3] -> float [...,3,H,W] in [-1,1]
    t = torch.from_numpy(np.ascontiguousarray(img)).to(device).float() / 127.5 - 1.0
    return t.movedim(-1, -3)


def to_tensors(b, device):
    src, tgt = to_t(b["src"], device), to_t(b["tgt"], device)
    mlat = torch.from_numpy(b["mask"]).to(device)[:, None]
    mpix = F.interpolate(mlat, scale_factor=4, mode="nearest")
    masked = src * (1 - mpix)
    refs = {k: (pack(to_t(img, device)), torch.from_numpy(c).to(device)) for k, (img, c) in b["refs"].items()}
    return {"x0": pack(tgt), "mask": mlat, "masked": pack(masked), "refs": refs, "slots": b["slots"],
            "src": src, "tgt": tgt}


def reference_kv(model, batch, zero=False):
    """The batch's per-layer reference K/V and padding biases (zero: the unconditional refs)."""
    kv = {}
    for key, (lat, cats) in batch["refs"].items():
        kv[key] = model.encode_refs(torch.zeros_like(lat) if zero else lat, cats)
    per = [[(kv[key], i) for key, i in row] for row in batch["slots"]]
    return gather_refs(per)


def fixed_eval_batch(device, n=6, seed=12345):
    rng = np.random.default_rng(seed)
    return to_tensors(collate_np([dg.make_example(rng, MAX_REFS) for _ in range(n)]), device)


@torch.no_grad()
def render_batch(model, batch, steps=20, guidance=2.5, seed=0):
    sched = Schedule()
    kvs, bias = reference_kv(model, batch)
    ukvs, _ = reference_kv(model, batch, zero=True)
    g = torch.Generator().manual_seed(seed)
    x = ddim_sample(model, sched, batch["mask"], batch["masked"], kvs, bias, ukvs, steps, guidance, g, PRED)
    img = unpack(x).clamp(-1, 1)
    mpix = F.interpolate(batch["mask"], scale_factor=4, mode="nearest")
    return img * mpix + batch["src"] * (1 - mpix)


def save_grid(path, batch, out):
    from PIL import Image
    rows = []
    for i, row in enumerate(batch["slots"]):
        refs = []
        for key, j in row:
            r = unpack(batch["refs"][key][0][j:j + 1])
            refs.append(F.interpolate(r, size=(128, 96), mode="nearest")[0].cpu())
        refs += [torch.zeros(3, 128, 96)] * (MAX_REFS - len(refs))
        mp_ = F.interpolate(batch["mask"][i:i + 1], scale_factor=4)[0].repeat(3, 1, 1).cpu() * 2 - 1
        rows.append(torch.cat([batch["src"][i].cpu(), mp_, out[i].cpu(), batch["tgt"][i].cpu()] + refs, 2))
    g = torch.cat(rows, 1)
    a = ((g.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
    Image.fromarray(a).save(path)


def batches(args, start_step):
    """Yields numpy batches for start_step, start_step + 1, ..., made by args.workers processes
    (at most 2 per worker made ahead)."""
    if args.workers <= 0:
        step = start_step
        while True:
            yield make_batch((args.seed, step, args.batch, P_UNCOND))
            step += 1
    from collections import deque
    pool = mp.get_context("fork").Pool(args.workers)
    ahead = deque()
    step = start_step
    while True:
        while len(ahead) < 2 * args.workers:
            ahead.append(pool.apply_async(make_batch, ((args.seed, step, args.batch, P_UNCOND),)))
            step += 1
        yield ahead.popleft().get()


def save_weights(ema, path):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    torch.save({k: v.detach().to("cpu", torch.float16) for k, v in ema.state_dict().items()}, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=300.0, help="total training time budget")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=4e-4)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--ckpt", default=os.path.join(HERE, "ckpt"))
    ap.add_argument("--ckpt-min", type=float, default=4.0)
    ap.add_argument("--grid-min", type=float, default=20.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--workers", type=int, default=1, help="data generation processes (0: inline)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--tiny", action="store_true", help="tiny widths: a smoke test of the whole script")
    ap.add_argument("--weights-out", default=None, help="write the EMA weights (float16 state dict) here at the end")
    ap.add_argument("--init", default=None, help="start a fresh run from these weights (a float16 state dict or a checkpoint)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    dev = torch.device(args.device)
    amp = dev.type == "cuda"
    if amp:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    os.makedirs(args.ckpt, exist_ok=True)
    out_dir = os.path.join(HERE, "out")
    os.makedirs(out_dir, exist_ok=True)
    cfg = model_config(args.tiny)
    model = TryOnUNet(**cfg).to(dev)
    ema = copy.deepcopy(model)
    for p in ema.parameters():
        p.requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    sched = Schedule()
    ac = sched.ac.to(dev)
    step, elapsed, examples = 0, 0.0, 0
    last = os.path.join(args.ckpt, "last.pt")
    if os.path.exists(last):
        ck = torch.load(last, map_location=dev)
        model.load_state_dict(ck["model"])
        ema.load_state_dict(ck["ema"])
        opt.load_state_dict(ck["opt"])
        step, elapsed = ck["step"], ck["elapsed"]
        examples = ck.get("examples", step * args.batch)
        torch.set_rng_state(ck["torch_rng"])
        print(f"resumed step {step} elapsed {elapsed/60:.1f} min", flush=True)
    elif args.init:
        w = torch.load(args.init, map_location="cpu")
        w = w.get("ema", w)
        model.load_state_dict({k: v.float() for k, v in w.items()})
        ema.load_state_dict(model.state_dict())
        print(f"initialised from {args.init}", flush=True)
    nparam = sum(p.numel() for p in model.parameters())
    print(f"params {nparam} batch {args.batch} budget {args.minutes} min pred {PRED} device {dev} "
          f"workers {args.workers} threads {args.threads}", flush=True)
    evb = fixed_eval_batch(dev)
    budget = args.minutes * 60
    t_ck = t_grid = time.time()
    losses = []
    t_last = time.time()
    data = batches(args, step)
    t_wait = 0.0
    recent = []
    while elapsed < budget:
        t0 = time.time()
        nb = next(data)
        t_wait += time.time() - t0
        frac = elapsed / budget
        lr = args.lr * min(1.0, (step + 1) / 200)
        if frac > 0.6:
            lr *= 0.5 * (1 + math.cos(math.pi * (frac - 0.6) / 0.4))
        lr = max(lr, args.lr * 0.03)
        for gparam in opt.param_groups:
            gparam["lr"] = lr
        b = to_tensors(nb, dev)
        x0 = b["x0"]
        B = x0.shape[0]
        t = torch.randint(0, sched.T, (B,), device=dev)
        a = ac[t][:, None, None, None]
        eps = torch.randn_like(x0)
        xt = a.sqrt() * x0 + (1 - a).sqrt() * eps
        with (torch.autocast(device_type="cuda", dtype=torch.bfloat16) if amp else contextlib.nullcontext()):
            kvs, bias = reference_kv(model, b)
            out = model.denoise(xt, t.float(), b["mask"], b["masked"], kvs, bias)
        out = out.float()
        w = 0.1 + b["mask"]
        loss = ((out - x0) ** 2 * w).sum() / (w.sum() * x0.shape[1])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        d = min(0.999, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.mul_(d).add_(pm.detach(), alpha=1 - d)
        step += 1
        examples += B
        losses.append(loss.item())
        now = time.time()
        # a step that took far longer than usual was paused (benchmarks stop the training while
        # they run): it counts as a usual one against the budget
        took = now - t0
        recent.append(took)
        del recent[:-50]
        elapsed += min(took, 3 * float(np.median(recent)))
        if step % 25 == 0:
            print(f"step {step} loss {np.mean(losses):.4f} lr {lr:.2e} {(now - t_last)/25:.2f}s/step "
                  f"(data wait {t_wait/25:.2f}s) elapsed {elapsed/60:.1f}/{args.minutes:.0f} min", flush=True)
            losses = []
            t_last = now
            t_wait = 0.0
        if now - t_ck > args.ckpt_min * 60 or elapsed >= budget:
            ck = {"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                  "step": step, "elapsed": elapsed, "examples": examples,
                  "torch_rng": torch.get_rng_state(), "pred": PRED, "config": cfg,
                  "device": str(dev), "batch": args.batch}
            torch.save(ck, last + ".tmp")
            os.replace(last + ".tmp", last)
            t_ck = time.time()
            print(f"checkpoint step {step} examples {examples}", flush=True)
        if now - t_grid > args.grid_min * 60 or elapsed >= budget:
            tg = time.time()
            out_img = render_batch(ema, evb)
            save_grid(os.path.join(out_dir, f"grid_{step:06d}.png"), evb, out_img)
            m = F.interpolate(evb["mask"], scale_factor=4)
            mae = ((out_img - evb["tgt"]).abs() * m).sum() / (m.sum() * 3) * 127.5
            print(f"grid step {step}: masked MAE {mae.item():.2f} (0..255) ({time.time()-tg:.1f}s)", flush=True)
            t_grid = time.time()
            t_last += time.time() - tg
    if args.weights_out:
        save_weights(ema, args.weights_out)
        print(f"weights -> {args.weights_out}", flush=True)
    print("done", step, "examples", examples, flush=True)
    os._exit(0)  # the data pool may still be producing; nothing of it is needed


if __name__ == "__main__":
    main()
