"""Export the v2 try-on model (model.py) to an ONNX model package, format 2 (opset 17).

/usr/bin/python3 models/tools/export.py [--weights W.pt | --ckpt models/tools/ckpt/last.pt]
        [--parser models/tools/ckpt/parser.pt] [--out models/tryon-tiny-v2] [--name tryon-tiny]
        [--version 2] [--single-file] [--check-dir models/tools/out/check]

--weights is a float16 state dict (train.py --weights-out); without it the EMA weights of a
train.py checkpoint are used. The package (docs/model-package.md, format 2):
  reference_encoder.onnx  garment latent at its category's size -> per-layer K/V in float16
  denoiser.onnx           float16 K/V banks + per-row int32 token indices, gathered in the graph
  weights.bin             ONNX external data shared by the two graphs above (identical tensors
                          stored once); --single-file embeds the weights in each graph instead
  manifest.json           per-category reference sizes and K/V token counts, sha256 of every file
Also writes torch reference inputs/outputs to --check-dir for check_onnx.mjs.
"""
import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import TensorProto, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import datagen as dg  # noqa: E402
from model import (TryOnUNet, Parser, pack, unpack, gather_refs, ATTN_NAMES, CATEGORIES,  # noqa: E402
                   REF_SIZE, LATENT_C, DOWN, NEG)

OPSET = 17
FORMAT = 2
L = len(ATTN_NAMES)
PERSON = (128, 96)  # (height, width)
WEIGHTS_FILE = "weights.bin"
# Initializers smaller than this stay inside their graph (shape constants and the like).
EXTERNAL_MIN_BYTES = 256


class VaeEncoder(nn.Module):
    def forward(self, image):
        return pack(image)


class VaeDecoder(nn.Module):
    def forward(self, latent):
        return unpack(latent).clamp(-1.0, 1.0)


class RefEncoder(nn.Module):
    """garment_latent [N,C,hr,wr] (any size the U-Net accepts), category [N] ->
    k_i, v_i float16 [N,heads,tokens_i,dim] (the engine keeps K/V in float16)."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, garment_latent, category):
        out = []
        for k, v in self.m.encode_refs(garment_latent, category):
            out += [k.half(), v.half()]
        return tuple(out)


def bank_gather(bank, index):
    """bank float16 [heads,N,dim], index int32 [B,R] (-1: none) ->
    K float32 [B,heads,R,dim] and the additive bias [B,1,1,R] (0 real, NEG none)."""
    B, R = index.shape[0], index.shape[1]
    valid = index >= 0
    safe = torch.where(valid, index, torch.zeros_like(index))
    g = torch.index_select(bank, 1, safe.reshape(-1))  # [heads,B*R,dim], still float16
    g = g.float().reshape(bank.shape[0], B, R, bank.shape[2]).transpose(0, 1)
    bias = (1.0 - valid.float()) * NEG
    return g, bias[:, None, None, :]


class Denoiser(nn.Module):
    """sample, timestep, mask, masked_latent, then per layer i: ref_k_i, ref_v_i (float16 banks
    [heads,N_i,dim]) and ref_index_i (int32 [B,R_i]): row b attends to bank tokens index[b]."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, sample, timestep, mask, masked_latent, *rest):
        kv, bias = [], []
        for i in range(L):
            bk, bv, idx = rest[3 * i], rest[3 * i + 1], rest[3 * i + 2]
            k, b = bank_gather(bk, idx)
            v, _ = bank_gather(bv, idx)
            kv.append((k, v))
            bias.append(b)
        return self.m.denoise(sample, timestep, mask, masked_latent, kv, bias)


def denoiser_input_names():
    names = ["sample", "timestep", "mask", "masked_latent"]
    for i in range(L):
        names += [f"ref_k_{i}", f"ref_v_{i}", f"ref_index_{i}"]
    return names


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def export_graph(module, args, path, in_names, out_names, dyn):
    module.eval()
    with torch.no_grad():
        torch.onnx.export(module, args, path, opset_version=OPSET, input_names=in_names,
                          output_names=out_names, dynamic_axes=dyn, do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path))


def externalize(out, graphs, weights_name=WEIGHTS_FILE):
    """Moves the initializers of `graphs` into one external-data file; a tensor whose bytes
    another graph (or the same one) already stored is not stored again."""
    blob = bytearray()
    stored = {}
    for g in graphs:
        path = os.path.join(out, g)
        m = onnx.load(path)
        for t in m.graph.initializer:
            if t.data_location == TensorProto.EXTERNAL:
                continue
            arr = numpy_helper.to_array(t)
            raw = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()  # ONNX stores little-endian
            if len(raw) < EXTERNAL_MIN_BYTES:
                continue
            key = hashlib.sha256(raw).hexdigest()
            if key not in stored:
                blob += b"\0" * ((-len(blob)) % 64)  # aligned for any element type
                stored[key] = (len(blob), len(raw))
                blob += raw
            offset, length = stored[key]
            for field in ("raw_data", "float_data", "int32_data", "int64_data", "double_data", "uint64_data"):
                t.ClearField(field)
            t.data_location = TensorProto.EXTERNAL
            del t.external_data[:]
            for k, v in (("location", weights_name), ("offset", str(offset)), ("length", str(length))):
                e = t.external_data.add()
                e.key, e.value = k, v
        with open(path, "wb") as f:
            f.write(m.SerializeToString())
    with open(os.path.join(out, weights_name), "wb") as f:
        f.write(bytes(blob))
    for g in graphs:
        onnx.checker.check_model(os.path.join(out, g))  # by path: resolves the external data
    return len(blob)


def ref_latent_size(category):
    h, w = REF_SIZE[category]
    return h // DOWN, w // DOWN


def encode_at(model, category, n=1, gen=None, zero=False, scale=0.5):
    """K/V of n random (or zero) garment latents of `category` at its reference size."""
    lh, lw = ref_latent_size(category)
    lat = torch.zeros(n, LATENT_C, lh, lw) if zero else torch.randn(n, LATENT_C, lh, lw, generator=gen) * scale
    cat = torch.full((n,), CATEGORIES.index(category), dtype=torch.long)
    return model.encode_refs(lat, cat)


def make_bank(entries):
    """entries: per-layer [(k, v)] lists of single garments ([1,heads,T,dim]) ->
    per layer (bank_k, bank_v) float16 [heads,N,dim] and each entry's token offsets."""
    banks, offsets = [], []
    for li in range(L):
        ks = [e[li][0][0] for e in entries]
        vs = [e[li][1][0] for e in entries]
        banks.append((torch.cat(ks, 1).half(), torch.cat(vs, 1).half()))
    for li in range(L):
        o, acc = [], 0
        for e in entries:
            o.append(acc)
            acc += e[li][0].shape[2]
        offsets.append(o)
    return banks, offsets


def make_index(entries, offsets, rows):
    """rows: per row, the bank entries it attends to -> per layer int32 [B,R] (-1 padding)."""
    out = []
    for li in range(L):
        per = []
        for row in rows:
            ids = []
            for e in row:
                T = entries[e][li][0].shape[2]
                ids += list(range(offsets[li][e], offsets[li][e] + T))
            per.append(ids)
        R = max(len(p) for p in per)
        idx = torch.full((len(rows), R), -1, dtype=torch.int32)
        for b, p in enumerate(per):
            idx[b, :len(p)] = torch.tensor(p, dtype=torch.int32)
        out.append(idx)
    return out


def denoiser_args(sample, timestep, mask, masked, banks, index):
    args = [sample, timestep, mask, masked]
    for i in range(L):
        args += [banks[i][0], banks[i][1], index[i]]
    return tuple(args)


def write_check(outdir, name, inputs, outputs):
    """Raw little-endian tensors + a json index for check_onnx.mjs."""
    d = os.path.join(outdir, name)
    os.makedirs(d, exist_ok=True)
    spec = {"inputs": [], "outputs": []}
    for kind, tensors in (("inputs", inputs), ("outputs", outputs)):
        for n, t in tensors.items():
            a = t.detach().numpy()
            dtype = {np.dtype("int64"): "int64", np.dtype("int32"): "int32", np.dtype("float16"): "float16"}.get(a.dtype, "float32")
            a = a.astype(dtype)
            fn = f"{kind}_{n}.bin"
            a.tofile(os.path.join(d, fn))
            spec[kind].append({"name": n, "dims": list(a.shape), "dtype": dtype, "file": fn})
    with open(os.path.join(d, "spec.json"), "w") as f:
        json.dump(spec, f, indent=1)


def export_graphs(model, parser, out):
    """Every graph of the package, weights inside each graph."""
    H, W = PERSON
    h, w = H // DOWN, W // DOWN
    C = LATENT_C
    img = torch.rand(1, 3, H, W) * 2 - 1
    lat = torch.randn(1, C, h, w)
    export_graph(VaeEncoder(), (img,), os.path.join(out, "vae_encoder.onnx"), ["image"], ["latent"],
                 {"image": {0: "batch", 2: "height", 3: "width"}, "latent": {0: "batch", 2: "latent_height", 3: "latent_width"}})
    export_graph(VaeDecoder(), (lat,), os.path.join(out, "vae_decoder.onnx"), ["latent"], ["image"],
                 {"latent": {0: "batch"}, "image": {0: "batch"}})
    kv_names = [n for i in range(L) for n in (f"k_{i}", f"v_{i}")]
    dyn = {"garment_latent": {0: "batch", 2: "ref_height", 3: "ref_width"}, "category": {0: "batch"}}
    for i, n in enumerate(kv_names):
        dyn[n] = {0: "batch", 2: f"tokens_{i // 2}"}
    export_graph(RefEncoder(model), (lat, torch.tensor([0], dtype=torch.long)), os.path.join(out, "reference_encoder.onnx"),
                 ["garment_latent", "category"], kv_names, dyn)
    # denoiser traced with 2 rows over a bank of 3 entries of two sizes
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        entries = [encode_at(model, "TOP", gen=g), encode_at(model, "SHOES", gen=g), encode_at(model, "TOP", zero=True)]
    banks, offsets = make_bank(entries)
    index = make_index(entries, offsets, [[0, 1], [2]])
    dyn = {"sample": {0: "batch"}, "timestep": {0: "batch"}, "mask": {0: "batch"}, "masked_latent": {0: "batch"},
           "noise_pred": {0: "batch"}}
    for i in range(L):
        dyn[f"ref_k_{i}"] = {1: f"bank_tokens_{i}"}
        dyn[f"ref_v_{i}"] = {1: f"bank_tokens_{i}"}
        dyn[f"ref_index_{i}"] = {0: "batch", 1: f"row_tokens_{i}"}
    args = denoiser_args(torch.randn(2, C, h, w), torch.tensor([999.0, 10.0]), torch.ones(2, 1, h, w),
                         torch.randn(2, C, h, w), banks, index)
    export_graph(Denoiser(model), args, os.path.join(out, "denoiser.onnx"), denoiser_input_names(), ["noise_pred"], dyn)
    export_graph(parser, (img,), os.path.join(out, "parser.onnx"), ["image"], ["logits"],
                 {"image": {0: "batch"}, "logits": {0: "batch"}})


def write_checks(model, parser, check):
    """Torch outputs for check_onnx.mjs: both reference sizes, and a denoiser call whose bank is
    shared by two renders (4 rows), with padding, checked against model.denoise on gathered K/V."""
    if os.path.exists(check):
        shutil.rmtree(check)
    H, W = PERSON
    C, h, w = LATENT_C, H // DOWN, W // DOWN
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        im2 = torch.rand(2, 3, H, W, generator=g) * 2 - 1
        write_check(check, "vae_encoder", {"image": im2}, {"latent": pack(im2)})
        l2 = pack(im2) + 0.01 * torch.randn(2, C, h, w, generator=g)
        write_check(check, "vae_decoder", {"latent": l2}, {"image": VaeDecoder()(l2)})
        kv_names = [n for i in range(L) for n in (f"k_{i}", f"v_{i}")]
        for category in ("TOP", "SHOES"):
            lh, lw = ref_latent_size(category)
            gl = torch.randn(2, C, lh, lw, generator=g) * 0.5
            c = torch.tensor([CATEGORIES.index(category), CATEGORIES.index(category)], dtype=torch.long)
            outs = RefEncoder(model)(gl, c)
            write_check(check, f"reference_encoder_{category.lower()}", {"garment_latent": gl, "category": c},
                        {n: t for n, t in zip(kv_names, outs)})
        # two renders: A wears TOP + SHOES, B wears TOP (the same TOP) + BAG; unconditional rows
        top, shoes, bag = (encode_at(model, c, gen=g) for c in ("TOP", "SHOES", "BAG"))
        u_top, u_shoes, u_bag = (encode_at(model, c, zero=True) for c in ("TOP", "SHOES", "BAG"))
        entries = [top, shoes, bag, u_top, u_shoes, u_bag]
        # the engine sends K/V as float16: compare against the model on float16-rounded K/V
        entries = [[(k.half().float(), v.half().float()) for k, v in e] for e in entries]
        banks, offsets = make_bank(entries)
        rows = [[0, 1], [3, 4], [0, 2], [3, 5]]
        index = make_index(entries, offsets, rows)
        ins = {"sample": torch.randn(4, C, h, w, generator=g), "timestep": torch.tensor([981.0, 981.0, 37.0, 37.0]),
               "mask": (torch.rand(4, 1, h, w, generator=g) > 0.3).float(), "masked_latent": torch.randn(4, C, h, w, generator=g)}
        args = denoiser_args(ins["sample"], ins["timestep"], ins["mask"], ins["masked_latent"], banks, index)
        o = Denoiser(model)(*args)
        kv, bias = gather_refs([[(entries[e], 0) for e in row] for row in rows])
        ref = model.denoise(ins["sample"], ins["timestep"], ins["mask"], ins["masked_latent"], kv, bias)
        diff = (o - ref).abs().max().item()
        assert diff < 1e-4, f"bank gather differs from gather_refs by {diff}"
        named = dict(zip(denoiser_input_names(), args))
        write_check(check, "denoiser", named, {"noise_pred": o})
        write_check(check, "parser", {"image": im2[:1]}, {"logits": parser(im2[:1])})
    print(f"checks -> {check} (bank gather vs gather_refs max diff {diff:.2e})")


def kv_bytes(model, category):
    lh, lw = ref_latent_size(category)
    return sum(2 * l["heads"] * l["tokens"] * l["dim"] * 2 for l in model.kv_layout(lh, lw))


def write_manifest(out, model, parser, name, version, pred, training, extra=None):
    files = {}
    for root, _, fns in os.walk(out):
        for fn in sorted(fns):
            p = os.path.join(root, fn)
            rel = os.path.relpath(p, out).replace(os.sep, "/")
            if rel != "manifest.json":
                files[rel] = sha256(p)
    references = {}
    for c in CATEGORIES:
        hh, ww = REF_SIZE[c]
        lh, lw = ref_latent_size(c)
        references[c] = {"width": ww, "height": hh, "tokens": [l["tokens"] for l in model.kv_layout(lh, lw)]}
    layers = [{"name": l["name"], "heads": l["heads"], "dim": l["dim"]} for l in model.kv_layout()]
    manifest = {
        "name": name,
        "version": version,
        "format": FORMAT,
        "person": {"width": PERSON[1], "height": PERSON[0]},
        "latent": {"channels": LATENT_C, "height": PERSON[0] // DOWN, "width": PERSON[1] // DOWN, "downscale": DOWN},
        "categories": CATEGORIES,
        "references": references,
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
        "kv": {"dtype": "float16", "layers": layers, "bytesPerGarment": {c: kv_bytes(model, c) for c in CATEGORIES}},
        "parser": {"labels": dg.LABELS, "categoryMask": dg.CATEGORY_MASK},
        "training": dict(training, params=sum(p.numel() for p in model.parameters()),
                         parserParams=sum(p.numel() for p in parser.parameters())),
        "files": files,
    }
    if extra:
        manifest.update(extra)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    return manifest


def export_package(model, parser, out, *, name, version, pred="sample", single_file=False, training=None,
                   samples=None, check_dir=None):
    """Writes a complete format-2 package to `out` (replaced). samples(out) writes samples/."""
    model.eval()
    parser.eval()
    out = os.path.abspath(out)
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    export_graphs(model, parser, out)
    weights = 0
    if not single_file:
        weights = externalize(out, ["denoiser.onnx", "reference_encoder.onnx"])
    if samples is not None:
        samples(out)
    if check_dir is not None:
        write_checks(model, parser, check_dir)
    write_manifest(out, model, parser, name, version, pred, training or {})
    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(out) for f in fs)
    print(f"package {out}: {total} bytes" + ("" if single_file else f", shared external weights {weights} bytes"))
    return out


def load_weights(args):
    """(model, pred, training info) from --weights (float16 state dict) or --ckpt."""
    if args.weights:
        w = torch.load(args.weights, map_location="cpu")
        w = w.get("ema", w)
        cfg, info = {}, {"data": "generated (models/tools/datagen.py)"}
    else:
        ck = torch.load(args.ckpt, map_location="cpu")
        w, cfg = ck["ema"], ck.get("config", {})
        info = {"steps": ck["step"], "minutes": round(ck["elapsed"] / 60, 1), "data": "generated (models/tools/datagen.py)"}
    model = TryOnUNet(**cfg)
    model.load_state_dict({k: v.float() for k, v in w.items()})
    return model.eval(), info


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", default=None, help="float16 state dict (train.py --weights-out)")
    ap.add_argument("--ckpt", default=os.path.join(HERE, "ckpt", "last.pt"))
    ap.add_argument("--parser", default=os.path.join(HERE, "ckpt", "parser.pt"))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "tryon-tiny-v2"))
    ap.add_argument("--name", default="tryon-tiny")
    ap.add_argument("--version", default="2")
    ap.add_argument("--single-file", action="store_true", help="weights inside each graph (no weights.bin)")
    ap.add_argument("--check-dir", default=os.path.join(HERE, "out", "check"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    model, info = load_weights(args)
    parser = Parser(len(dg.LABELS))
    pk = torch.load(args.parser, map_location="cpu")
    parser.load_state_dict(pk["model"])
    info["parserPixelAccuracy"] = round(pk.get("acc", 0.0), 4)
    from samples import make_samples
    export_package(model, parser, args.out, name=args.name, version=args.version, single_file=args.single_file,
                   training=info, samples=make_samples, check_dir=args.check_dir)


if __name__ == "__main__":
    main()
