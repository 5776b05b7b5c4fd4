"""Export the trained model to an ONNX model package (opset 17) + samples + manifest.

/usr/bin/python3 models/tools/export.py [--ckpt models/tools/ckpt/last.pt] [--out models/tryon-tiny]
Also writes torch reference inputs/outputs to models/tools/out/check/ for
check_onnx.mjs (onnxruntime-node comparison).
"""
import argparse
import hashlib
import json
import os
import shutil
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import datagen as dg  # noqa: E402
from model import TryOnUNet, Parser, pack, unpack, gather_slots, ATTN_NAMES  # noqa: E402

OPSET = 17
L = len(ATTN_NAMES)


class VaeEncoder(nn.Module):
    def forward(self, image):
        return pack(image)


class VaeDecoder(nn.Module):
    def forward(self, latent):
        return unpack(latent).clamp(-1.0, 1.0)


class RefEncoder(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, garment_latent, category):
        out = []
        for k, v in self.m.encode_refs(garment_latent, category):
            out += [k, v]
        return tuple(out)


class Denoiser(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, sample, timestep, mask, masked_latent, *rest):
        kv = [(rest[2 * i], rest[2 * i + 1]) for i in range(L)]
        ref_mask = rest[2 * L]
        return self.m.denoise(sample, timestep, mask, masked_latent, kv, ref_mask)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def export(module, args, path, in_names, out_names, dyn):
    module.eval()
    with torch.no_grad():
        torch.onnx.export(module, args, path, opset_version=OPSET, input_names=in_names,
                          output_names=out_names, dynamic_axes=dyn, do_constant_folding=True)
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return m


def save_png(path, arr):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(arr).save(path, optimize=True)


def to_t(img):
    return torch.from_numpy(np.ascontiguousarray(img)).float().permute(2, 0, 1)[None] / 127.5 - 1.0


def write_check(outdir, name, inputs, outputs):
    """Raw little-endian tensors + a json index for check_onnx.mjs."""
    d = os.path.join(outdir, name)
    os.makedirs(d, exist_ok=True)
    spec = {"inputs": [], "outputs": []}
    for kind, tensors in (("inputs", inputs), ("outputs", outputs)):
        for n, t in tensors.items():
            a = t.detach().numpy()
            dtype = "int64" if a.dtype == np.int64 else "float32"
            a = a.astype(dtype)
            fn = f"{kind}_{n}.bin"
            a.tofile(os.path.join(d, fn))
            spec[kind].append({"name": n, "dims": list(a.shape), "dtype": dtype, "file": fn})
    with open(os.path.join(d, "spec.json"), "w") as f:
        json.dump(spec, f, indent=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=os.path.join(HERE, "ckpt", "last.pt"))
    ap.add_argument("--parser", default=os.path.join(HERE, "ckpt", "parser.pt"))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "tryon-tiny"))
    ap.add_argument("--version", default="1")
    ap.add_argument("--heldout", type=int, default=24)
    args = ap.parse_args()
    torch.set_num_threads(1)
    out = os.path.abspath(args.out)
    ck = torch.load(args.ckpt)
    model = TryOnUNet()
    model.load_state_dict(ck["ema"])
    model.eval()
    pred = ck.get("pred", "v_prediction")
    parser = Parser(len(dg.LABELS))
    pk = torch.load(args.parser)
    parser.load_state_dict(pk["model"])
    parser.eval()

    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    check = os.path.join(HERE, "out", "check")
    if os.path.exists(check):
        shutil.rmtree(check)

    B, C, h, w = 1, 48, 32, 24
    img = torch.rand(1, 3, 128, 96) * 2 - 1
    lat = torch.randn(1, C, h, w)
    # ---- vae
    export(VaeEncoder(), (img,), os.path.join(out, "vae_encoder.onnx"), ["image"], ["latent"],
           {"image": {0: "batch"}, "latent": {0: "batch"}})
    export(VaeDecoder(), (lat,), os.path.join(out, "vae_decoder.onnx"), ["latent"], ["image"],
           {"latent": {0: "batch"}, "image": {0: "batch"}})
    # ---- reference encoder
    kv_names = []
    for i in range(L):
        kv_names += [f"k_{i}", f"v_{i}"]
    cat = torch.tensor([0], dtype=torch.long)
    export(RefEncoder(model), (lat, cat), os.path.join(out, "reference_encoder.onnx"),
           ["garment_latent", "category"], kv_names,
           dict({"garment_latent": {0: "batch"}, "category": {0: "batch"}},
                **{n: {0: "batch"} for n in kv_names}))
    # ---- denoiser (trace with B=2, S=2; B and S*T are dynamic)
    S = 2
    with torch.no_grad():
        kv = model.encode_refs(torch.randn(2 * S, C, h, w), torch.tensor([0, 1, 3, 4]))
    kvs, rm = gather_slots(kv, [S, S], S)
    ref_names = []
    ref_args = []
    for i in range(L):
        ref_names += [f"ref_k_{i}", f"ref_v_{i}"]
        ref_args += [kvs[i][0], kvs[i][1]]
    dn_in = ["sample", "timestep", "mask", "masked_latent"] + ref_names + ["ref_mask"]
    dyn = {"sample": {0: "batch"}, "timestep": {0: "batch"}, "mask": {0: "batch"},
           "masked_latent": {0: "batch"}, "ref_mask": {0: "batch", 1: "slots"}, "noise_pred": {0: "batch"}}
    for i, n in enumerate(ref_names):
        dyn[n] = {0: "batch", 2: f"ref_tokens_{i // 2}"}
    dn_args = (torch.randn(2, C, h, w), torch.tensor([999.0, 10.0]), torch.ones(2, 1, h, w),
               torch.randn(2, C, h, w), *ref_args, rm)
    export(Denoiser(model), dn_args, os.path.join(out, "denoiser.onnx"), dn_in, ["noise_pred"], dyn)
    # ---- parser
    export(parser, (img,), os.path.join(out, "parser.onnx"), ["image"], ["logits"],
           {"image": {0: "batch"}, "logits": {0: "batch"}})

    # ---- torch reference values for check_onnx.mjs
    g = torch.Generator().manual_seed(0)
    rng = np.random.default_rng([777, 0])
    ex = dg.make_example(rng)
    im2 = torch.cat([to_t(ex["src"]), to_t(ex["tgt"])])
    with torch.no_grad():
        write_check(check, "vae_encoder", {"image": im2}, {"latent": pack(im2)})
        l2 = pack(im2) + 0.01 * torch.randn(2, C, h, w, generator=g)
        write_check(check, "vae_decoder", {"latent": l2}, {"image": VaeDecoder()(l2)})
        gl = pack(to_t(ex["refs"][0]))
        c1 = torch.tensor([int(ex["cats"][0])], dtype=torch.long)
        outs = RefEncoder(model)(gl, c1)
        write_check(check, "reference_encoder", {"garment_latent": gl, "category": c1},
                    {n: t for n, t in zip(kv_names, outs)})
        # batch 2, slot count 3, sample 0 has one padded slot (filled with random junk)
        refs = torch.randn(5, C, h, w, generator=g) * 0.5
        kv = model.encode_refs(refs, torch.tensor([0, 1, 2, 3, 4]))
        kvs, rm = gather_slots(kv, [2, 3], 3)
        junk = []
        for k, v in kvs:
            T = k.shape[2] // 3
            k = k.clone()
            v = v.clone()
            k[0, :, 2 * T:] = torch.randn(k[0, :, 2 * T:].shape, generator=g)
            v[0, :, 2 * T:] = torch.randn(v[0, :, 2 * T:].shape, generator=g)
            junk.append((k, v))
        ins = {"sample": torch.randn(2, C, h, w, generator=g), "timestep": torch.tensor([981.0, 37.0]),
               "mask": (torch.rand(2, 1, h, w, generator=g) > 0.5).float(),
               "masked_latent": torch.randn(2, C, h, w, generator=g)}
        for i in range(L):
            ins[f"ref_k_{i}"] = junk[i][0]
            ins[f"ref_v_{i}"] = junk[i][1]
        ins["ref_mask"] = rm
        o = Denoiser(model)(*ins.values())
        # padded-slot invariance in torch: same output with zeroed padding
        ins0 = dict(ins)
        for i in range(L):
            T = kvs[i][0].shape[2] // 3
            for key, t in ((f"ref_k_{i}", kvs[i][0]), (f"ref_v_{i}", kvs[i][1])):
                t2 = ins[key].clone()
                t2[0, :, 2 * T:] = 0
                ins0[key] = t2
        o0 = Denoiser(model)(*ins0.values())
        o_single = Denoiser(model)(*[t[:1] if t.dim() > 0 else t for t in
                                     [ins[k] for k in ins]][:4],
                                   *[ins[f"ref_{kk}_{i}"][:1, :, :2 * (ins[f"ref_k_{i}"].shape[2] // 3)]
                                     for i in range(L) for kk in ("k", "v")],
                                   rm[:1, :2])
        print("padding invariance max diff %.3g, 2-slot single-sample vs batched %.3g"
              % ((o - o0).abs().max().item(), (o[:1] - o_single).abs().max().item()))
        write_check(check, "denoiser", ins, {"noise_pred": o})
        pim = to_t(ex["src"])
        write_check(check, "parser", {"image": pim}, {"logits": parser(pim)})

    # ---- samples
    samples = make_samples(out, parser)

    # ---- manifest
    layout = model.kv_layout()
    cache_bytes = sum(2 * l["heads"] * l["tokens"] * l["dim"] * 2 for l in layout)
    files = {}
    for root, _, fns in os.walk(out):
        for fn in sorted(fns):
            p = os.path.join(root, fn)
            rel = os.path.relpath(p, out).replace(os.sep, "/")
            if rel != "manifest.json":
                files[rel] = sha256(p)
    manifest = {
        "name": "tryon-tiny",
        "version": args.version,
        "format": 1,
        "person": {"width": 96, "height": 128},
        "reference": {"width": 96, "height": 128},
        "latent": {"channels": 48, "height": 32, "width": 24, "downscale": 4},
        "referenceLatent": {"channels": 48, "height": 32, "width": 24},
        "categories": dg.CATEGORIES,
        "scheduler": {
            "type": "ddim",
            "trainTimesteps": 1000,
            "betaSchedule": "scaled_linear",
            "betaStart": 0.00085,
            "betaEnd": 0.012,
            "predictionType": pred,
            "timestepSpacing": "trailing",
            "eta": 0.0,
            "clipSample": True,
            "defaultSteps": 20,
            "guidanceScale": 2.5,
        },
        "kv": {"dtype": "float16", "bytesPerGarment": cache_bytes, "layers": layout},
        "parser": {
            "labels": dg.LABELS,
            "categoryMask": dg.CATEGORY_MASK,
        },
        "training": {
            "steps": ck["step"],
            "minutes": round(ck["elapsed"] / 60, 1),
            "params": sum(p.numel() for p in model.parameters()),
            "parserParams": sum(p.numel() for p in parser.parameters()),
            "parserPixelAccuracy": round(pk.get("acc", 0.0), 4),
            "data": "generated (models/tools/datagen.py)",
        },
        "files": files,
    }
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(out) for f in fs)
    print("package", out, "bytes", total, "steps", ck["step"], "cache bytes/garment fp16", cache_bytes)


def make_samples(out, parser):
    sd = os.path.join(out, "samples")
    index = {"persons": [], "garments": [], "heldout": []}
    rng = np.random.default_rng([424242, 1])
    for i in range(6):
        p = dg.random_person(rng)
        img, lab = dg.render(p, dg.random_outfit(rng))
        save_png(os.path.join(sd, f"persons/p{i}.png"), img)
        save_png(os.path.join(sd, f"persons/p{i}_labels.png"), lab)
        index["persons"].append({"id": f"p{i}", "image": f"persons/p{i}.png", "labels": f"persons/p{i}_labels.png"})
    gi = 0
    for c in dg.CATEGORIES:
        for j in range(4):
            gimg = dg.render_product(dg.random_garment(rng, c))
            rel = f"garments/{c.lower()}/g{gi}.png"
            save_png(os.path.join(sd, rel), gimg)
            index["garments"].append({"id": f"g{gi}", "category": c, "image": rel})
            gi += 1
    rng = np.random.default_rng([424242, 2])
    for i in range(int(os.environ.get("HELDOUT", "24"))):
        e = dg.make_example(rng)
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
    with open(os.path.join(sd, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
    return index


if __name__ == "__main__":
    main()
