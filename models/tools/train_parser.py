"""Train parser.onnx's network on generated people (labels from datagen).
/usr/bin/python3 models/tools/train_parser.py --minutes 5   -> models/tools/ckpt/parser.pt"""
import argparse, os, sys, time
import numpy as np
import torch
import torch.nn.functional as F
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import datagen as dg
from model import Parser


def batch(rng, n):
    imgs, labs = [], []
    for _ in range(n):
        p = dg.random_person(rng)
        img, lab = dg.render(p, dg.random_outfit(rng))
        imgs.append(img)
        labs.append(lab)
    x = torch.from_numpy(np.stack(imgs)).float().permute(0, 3, 1, 2) / 127.5 - 1
    return x, torch.from_numpy(np.stack(labs)).long()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=5)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--resume", action="store_true", help="continue from ckpt/parser.pt")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    net = Parser(len(dg.LABELS))
    opt = torch.optim.Adam(net.parameters(), args.lr)
    step = 0
    path = os.path.join(HERE, "ckpt", "parser.pt")
    if args.resume and os.path.exists(path):
        ck = torch.load(path)
        net.load_state_dict(ck["model"])
        step = ck["steps"]
        print("resumed parser at step", step, flush=True)
    # small / rare classes weigh more (feet, dress, shoes, bag, bag_zone)
    cw = torch.ones(len(dg.LABELS))
    for n, wgt in (("feet", 3.0), ("dress", 2.0), ("shoes", 2.0), ("bag", 4.0), ("bag_zone", 3.0), ("skin", 2.0)):
        cw[dg.LABELS.index(n)] = wgt
    t_end = time.time() + args.minutes * 60
    step0 = step
    t0 = time.time()
    while time.time() < t_end:
        frac = 1 - (t_end - time.time()) / (args.minutes * 60)
        for g in opt.param_groups:
            g["lr"] = args.lr * (0.05 if frac > 0.85 else 1.0)
        x, y = batch(np.random.default_rng([args.seed, step]), 24)
        loss = F.cross_entropy(net(x), y, weight=cw)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 25 == 0:
            print(f"parser step {step} loss {loss.item():.4f} {(time.time()-t0)/(step-step0):.2f}s/step", flush=True)
    net.eval()
    x, y = batch(np.random.default_rng([999, 1]), 64)
    with torch.no_grad():
        pred = net(x).argmax(1)
    acc = (pred == y).float().mean().item()
    ious = []
    for c in range(len(dg.LABELS)):
        i = ((pred == c) & (y == c)).sum().item()
        u = ((pred == c) | (y == c)).sum().item()
        ious.append(i / u if u else float("nan"))
    print("parser pixel acc %.4f" % acc, "IoU", {dg.LABELS[c]: round(v, 3) for c, v in enumerate(ious)}, flush=True)
    os.makedirs(os.path.join(HERE, "ckpt"), exist_ok=True)
    torch.save({"model": net.state_dict(), "acc": acc, "iou": ious, "steps": step}, os.path.join(HERE, "ckpt", "parser.pt"))


if __name__ == "__main__":
    main()
