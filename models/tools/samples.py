"""The package's samples: person photos and garments for the demo store, and the held-out
evaluation cases (samples/index.json). Everything comes from datagen.py with fixed seeds that
training never uses (training draws from default_rng([seed, step, 7])).

/usr/bin/python3 models/tools/samples.py <dir> [--heldout-only]   # writes <dir>/samples/...

Held-out cases are stratified by how many garments change (HELDOUT_PER_COUNT each of 1, 2, 3
and 4 new garments; a valid outfit holds at most four), so the 4-garment cases the engine
must handle are measured on their own (eval:quality's maeChangedRatio45).
"""
import json
import os
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import datagen as dg  # noqa: E402

HELDOUT_PER_COUNT = 16
HELDOUT_SEED = [424242, 3]


def save_png(path, arr):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(arr).save(path, optimize=True)


def heldout_examples(per_count=HELDOUT_PER_COUNT, seed=HELDOUT_SEED):
    """per_count examples for each number of new garments 1..4, interleaved (1, 2, 3, 4, 1, ...)."""
    rng = np.random.default_rng(seed)
    by_count = {k: [] for k in range(1, 5)}
    while any(len(v) < per_count for v in by_count.values()):
        e = dg.make_example(rng)
        k = len(e["cats"])
        if len(by_count[k]) < per_count:
            by_count[k].append(e)
    return [by_count[k][i] for i in range(per_count) for k in range(1, 5)]


def write_heldout(sd, index, examples):
    for i, e in enumerate(examples):
        cats = [dg.CATEGORIES[c] for c in e["cats"]]
        gs = []
        for c, r in zip(cats, e["refs"]):
            rel = f"heldout/h{i}_{c.lower()}.png"
            save_png(os.path.join(sd, rel), r)
            gs.append(rel)
        save_png(os.path.join(sd, f"heldout/h{i}_person.png"), e["src"])
        save_png(os.path.join(sd, f"heldout/h{i}_labels.png"), e["src_lab"])
        save_png(os.path.join(sd, f"heldout/h{i}_truth.png"), e["tgt"])
        save_png(os.path.join(sd, f"heldout/h{i}_mask.png"), (e["mask"] * 255).astype(np.uint8))
        index["heldout"].append({"id": f"h{i}", "person": f"heldout/h{i}_person.png", "garments": gs,
                                 "categories": cats, "truth": f"heldout/h{i}_truth.png",
                                 "mask": f"heldout/h{i}_mask.png", "labels": f"heldout/h{i}_labels.png"})


def make_samples(out, heldout_only=False):
    """Writes <out>/samples/ (persons, garments, heldout, index.json); returns the index."""
    sd = os.path.join(out, "samples")
    index = {"persons": [], "garments": [], "heldout": []}
    rng = np.random.default_rng([424242, 1])
    for i in range(6):
        p = dg.random_person(rng)
        img, lab = dg.render(p, dg.random_outfit(rng))
        if not heldout_only:
            save_png(os.path.join(sd, f"persons/p{i}.png"), img)
            save_png(os.path.join(sd, f"persons/p{i}_labels.png"), lab)
            index["persons"].append({"id": f"p{i}", "image": f"persons/p{i}.png", "labels": f"persons/p{i}_labels.png"})
    gi = 0
    for c in dg.CATEGORIES:
        for j in range(4):
            gimg = dg.render_product(dg.random_garment(rng, c))
            rel = f"garments/{c.lower()}/g{gi}.png"
            if not heldout_only:
                save_png(os.path.join(sd, rel), gimg)
                index["garments"].append({"id": f"g{gi}", "category": c, "image": rel})
            gi += 1
    write_heldout(sd, index, heldout_examples())
    with open(os.path.join(sd, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
    return index


if __name__ == "__main__":
    idx = make_samples(sys.argv[1], "--heldout-only" in sys.argv)
    counts = {}
    for h in idx["heldout"]:
        counts[len(h["categories"])] = counts.get(len(h["categories"]), 0) + 1
    print("heldout cases by garment count", dict(sorted(counts.items())))
