"""Small format-2 test packages for the engine's tests (test/fixtures/models/), made by export.py.

/usr/bin/python3 models/tools/export_fixtures.py [--out test/fixtures/models]

No trained v2 weights are needed: the v2 U-Net (model.py) at tiny widths, every weight drawn
from a seeded generator (the zero-initialised output layers of a fresh model would make the
denoiser ignore its references), and a tiny parser. Two packages of the same weights:
  tryon-v2-external/  denoiser and reference encoder sharing one external-data file (weights.bin)
  tryon-v2-single/    the single-file twin (weights inside each graph)
each with a few sample persons and garments (samples/index.json). The renders are noise-like:
these packages test the format and the engine, not try-on quality.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import datagen as dg  # noqa: E402
from export import export_package  # noqa: E402
from samples import save_png  # noqa: E402
from model import TryOnUNet, Parser  # noqa: E402

SEED = 20261204
# Two heads per attention layer so the per-head layout of the K/V banks is exercised.
CONFIG = dict(ch=(16, 16, 16), heads=(2, 2), top_attn=(2, 8), edim=16)
PARSER_WIDTHS = (8, 8, 8, 8)
NAME, VERSION = "tryon-fixture", "2-test"


def randomize(module, gen):
    """Every parameter drawn from N(0, 1/fan_in) (weights), 1 + N(0, 0.1) (norm scales), N(0, 0.1) (biases)."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.dim() > 1:
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(p[0].numel()))
            elif name.endswith("weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
    return module.eval()


def small_samples(out):
    """2 person photos and 4 garments per category (enough for 8 renders over shared garments)."""
    sd = os.path.join(out, "samples")
    index = {"persons": [], "garments": [], "heldout": []}
    rng = np.random.default_rng([SEED, 1])
    for i in range(2):
        img, lab = dg.render(dg.random_person(rng), dg.random_outfit(rng))
        save_png(os.path.join(sd, f"persons/p{i}.png"), img)
        save_png(os.path.join(sd, f"persons/p{i}_labels.png"), lab)
        index["persons"].append({"id": f"p{i}", "image": f"persons/p{i}.png", "labels": f"persons/p{i}_labels.png"})
    gi = 0
    for c in dg.CATEGORIES:
        for _ in range(4):
            rel = f"garments/{c.lower()}/g{gi}.png"
            save_png(os.path.join(sd, rel), dg.render_product(dg.random_garment(rng, c)))
            index["garments"].append({"id": f"g{gi}", "category": c, "image": rel})
            gi += 1
    with open(os.path.join(sd, "index.json"), "w") as f:
        json.dump(index, f, indent=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "test", "fixtures", "models"))
    ap.add_argument("--check-dir", default=os.path.join(HERE, "out", "check-fixture"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(SEED)
    model = randomize(TryOnUNet(**CONFIG), gen)
    parser = randomize(Parser(len(dg.LABELS), PARSER_WIDTHS), gen)
    training = {"data": "none: seeded random weights (models/tools/export_fixtures.py), a test package"}
    for variant, single in (("tryon-v2-external", False), ("tryon-v2-single", True)):
        export_package(model, parser, os.path.join(args.out, variant), name=NAME, version=VERSION, single_file=single,
                       training=training, samples=small_samples, check_dir=None if single else args.check_dir)


if __name__ == "__main__":
    main()
