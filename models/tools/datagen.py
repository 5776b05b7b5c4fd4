"""Deterministic synthetic try-on data: drawn people, garments, product shots, labels.

Everything is a function of a numpy Generator, so a seed reproduces every image.
Images are 96 wide x 128 high, uint8 RGB, arrays shaped [H, W, 3].

Labels (index = pixel value in label PNGs):
  0 background, 1 skin (face, neck, hands), 2 hair, 3 arms, 4 legs, 5 feet,
  6 top, 7 bottom, 8 dress, 9 shoes, 10 bag, 11 bag_zone
bag_zone marks background pixels where a bag held in the person's bag hand would
hang, so the BAG mask can be derived from a photo of a person without a bag.
"""
import math
import numpy as np

W, H = 96, 128
CATEGORIES = ["TOP", "BOTTOM", "DRESS", "SHOES", "BAG"]
CAT_ID = {c: i for i, c in enumerate(CATEGORIES)}
LABELS = ["background", "skin", "hair", "arms", "legs", "feet", "top", "bottom",
          "dress", "shoes", "bag", "bag_zone"]
L = {n: i for i, n in enumerate(LABELS)}
# mask rule (the manifest's parser.categoryMask)
CATEGORY_MASK = {
    "TOP": {"labels": ["top", "dress", "arms"], "dilate": 2},
    "BOTTOM": {"labels": ["bottom", "dress", "legs"], "dilate": 4},
    "DRESS": {"labels": ["top", "bottom", "dress", "arms", "legs"], "dilate": 4},
    "SHOES": {"labels": ["shoes", "feet"], "dilate": 2},
    "BAG": {"labels": ["bag", "bag_zone"], "dilate": 2},
}
PATTERNS = ["solid", "stripes", "checks", "dots", "twotone"]

_YY, _XX = np.mgrid[0:H, 0:W].astype(np.float32)
_YY += 0.5
_XX += 0.5


# ----------------------------------------------------------------------------- geometry
def quad_coords(y0, y1, l0, r0, l1, r1):
    """Region between rows y0..y1 whose left/right edges go linearly l0->l1, r0->r1.
    Returns mask, u (0..1 across), v (0..1 down)."""
    v = (_YY - y0) / max(y1 - y0, 1e-3)
    left = l0 + (l1 - l0) * v
    right = r0 + (r1 - r0) * v
    u = (_XX - left) / np.maximum(right - left, 1e-3)
    m = (v >= 0) & (v <= 1) & (u >= 0) & (u <= 1)
    return m, u, v


def seg_coords(p0, p1, w0, w1, smin=0.0, smax=1.0):
    """Thick segment p0->p1 with half width w0->w1 (linear along it).
    Returns mask, u (0..1 across), s (0..1 along)."""
    dx, dy = p1[0] - p0[0], p1[1] - p0[1]
    ln2 = dx * dx + dy * dy + 1e-6
    ln = math.sqrt(ln2)
    s = ((_XX - p0[0]) * dx + (_YY - p0[1]) * dy) / ln2
    d = ((_XX - p0[0]) * dy - (_YY - p0[1]) * dx) / ln
    w = w0 + (w1 - w0) * np.clip(s, 0, 1)
    u = d / (2 * w) + 0.5
    m = (s >= smin) & (s <= smax) & (np.abs(d) <= w)
    return m, u, s


def ellipse_mask(cx, cy, rx, ry):
    return ((_XX - cx) / rx) ** 2 + ((_YY - cy) / ry) ** 2 <= 1.0


def box_coords(x0, y0, x1, y1):
    u = (_XX - x0) / (x1 - x0)
    v = (_YY - y0) / (y1 - y0)
    m = (u >= 0) & (u <= 1) & (v >= 0) & (v <= 1)
    return m, u, v


# ----------------------------------------------------------------------------- colours
def hsv2rgb(h, s, v):
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    r, g, b = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return np.array([r, g, b], np.float32) * 255.0


def rand_colour(rng):
    if rng.random() < 0.15:  # neutral
        v = rng.uniform(0.08, 0.85)
        return np.array([v, v, v], np.float32) * 255.0 + rng.uniform(-8, 8, 3).astype(np.float32)
    return hsv2rgb(rng.random(), rng.uniform(0.35, 1.0), rng.uniform(0.25, 0.92))


def contrast_colour(rng, c1):
    for _ in range(20):
        c2 = rand_colour(rng)
        if np.abs(c2 - c1).sum() > 180:
            return c2
    return np.clip(255.0 - c1, 0, 255)


# ----------------------------------------------------------------------------- garments
# pattern units: every garment part maps its pixels to (a, b) garment coordinates;
# the same garment gives the same colours at the same (a, b) in the product shot and
# when worn.
UNIT_PX = {"TOP": 32.0, "BOTTOM": 52.0, "DRESS": 32.0, "SHOES": 10.0, "BAG": 14.0}


def random_garment(rng, category):
    g = {"category": category}
    g["c1"] = rand_colour(rng)
    g["c2"] = contrast_colour(rng, g["c1"])
    if category == "SHOES":
        g["pattern"] = PATTERNS[[0, 1, 4][rng.integers(3)]]
    else:
        g["pattern"] = PATTERNS[rng.integers(len(PATTERNS))]
    period_px = rng.uniform(6.0, 11.0)
    if category == "SHOES":
        period_px = rng.uniform(4.0, 6.0)
    g["period"] = period_px / UNIT_PX[category]
    g["vertical"] = bool(rng.random() < 0.4)  # stripe orientation
    g["dot_r"] = float(rng.uniform(0.22, 0.34))
    g["split"] = float(rng.uniform(0.35, 0.65))  # two-tone split
    if category == "TOP":
        g["sleeve"] = float([0.0, 0.3, 0.65, 0.95][rng.integers(4)])
    elif category == "DRESS":
        g["sleeve"] = float([0.0, 0.0, 0.3][rng.integers(3)])
        g["length"] = float(rng.uniform(0.15, 0.45))
        g["flare"] = float(rng.uniform(0, 2.0))
    elif category == "BOTTOM":
        g["skirt"] = bool(rng.random() < 0.3)
        if g["skirt"]:
            g["length"] = float(rng.uniform(0.15, 0.45))
            g["flare"] = float(rng.uniform(0, 2.0))
        else:
            g["length"] = float([0.3, 0.6, 1.0, 1.0][rng.integers(4)])
    elif category == "SHOES":
        g["height"] = float(rng.uniform(0.0, 3.0))  # how far above the ankle
    elif category == "BAG":
        g["bw"] = float(rng.uniform(11, 17))
        g["bh"] = float(rng.uniform(9, 14))
        g["round"] = bool(rng.random() < 0.5)
    return g


def pattern_colour(g, a, b):
    """Colour [N,3] at garment coordinates a, b (1-D arrays)."""
    c1, c2 = g["c1"], g["c2"]
    p = g["pattern"]
    if p == "solid":
        sel = np.zeros(a.shape, bool)
    elif p == "stripes":
        t = a if g["vertical"] else b
        sel = np.mod(t / g["period"], 1.0) < 0.5
    elif p == "checks":
        sel = (np.mod(a / g["period"], 1.0) < 0.5) ^ (np.mod(b / g["period"], 1.0) < 0.5)
    elif p == "dots":
        fa = np.mod(a / g["period"], 1.0) - 0.5
        fb = np.mod(b / g["period"], 1.0) - 0.5
        sel = fa * fa + fb * fb < g["dot_r"] ** 2
    else:  # two-tone
        sel = b > g["split"] * g.get("_bspan", 1.0)
    return np.where(sel[:, None], c2[None, :], c1[None, :])


def paint(img, lab, m, a, b, g, label):
    if not m.any():
        return
    img[m] = pattern_colour(g, a[m], b[m])
    if lab is not None:
        lab[m] = label


# -------------------------------------------------------------------- garment part geometry
def top_parts(g, torso, arms, unit_h):
    """torso: (y0,y1,l0,r0,l1,r1); arms: list of (p0, p1, w0, w1).
    Yields (mask, a, b) for the torso and the sleeves."""
    m, u, v = quad_coords(*torso)
    ratio = 0.85
    yield m, u * ratio, v
    if g.get("sleeve", 0) > 0:
        for (p0, p1, w0, w1, arm_units) in arms:
            sm, su, ss = seg_coords(p0, p1, w0, w1, 0.0, g["sleeve"])
            yield sm, su * 0.25, ss * arm_units


def skirt_parts(g, y0, y1, l0, r0, l1, r1, b0, span):
    m, u, v = quad_coords(y0, y1, l0, r0, l1, r1)
    yield m, u * 0.6, b0 + v * span


# ----------------------------------------------------------------------------- products
def render_product(g):
    img = np.full((H, W, 3), 255.0, np.float32)
    c = g["category"]
    parts = []
    if c in ("TOP", "DRESS"):
        if c == "TOP":
            y0, th, hw0, hw1 = 34.0, 44.0, 19.0, 17.0
        else:
            y0, th, hw0, hw1 = 10.0, 34.0, 15.0, 13.0
        torso = (y0, y0 + th, 48 - hw0, 48 + hw0, 48 - hw1, 48 + hw1)
        ang = math.radians(35)
        alen = th * 1.1
        arms = []
        for sd in (-1, 1):
            p0 = (48 + sd * (hw0 - 4), y0 + 4)
            p1 = (p0[0] + sd * alen * math.sin(ang), p0[1] + alen * math.cos(ang))
            arms.append((p0, p1, 5.5 if c == "TOP" else 4.5, 4.5 if c == "TOP" else 3.5, 1.2))
        g["_bspan"] = 1.0 if c == "TOP" else 1.0 + g["length"] * 2.0
        if c == "DRESS":
            ylo = y0 + th
            span = 112.0 - ylo
            yhi = ylo + span * (g["length"] / 0.45)
            fl = 6 + g["flare"] * 5
            parts += list(skirt_parts(g, ylo, yhi, 48 - hw1, 48 + hw1, 48 - hw1 - fl, 48 + hw1 + fl,
                                      1.0, g["length"] * 2.0))
        parts += list(top_parts(g, torso, arms, th))
    elif c == "BOTTOM":
        y0, y1 = 14.0, 116.0
        hw = 18.0
        crotch = y0 + 0.12 * (y1 - y0)
        g["_bspan"] = 1.0
        if g["skirt"]:
            yhi = crotch + (y1 - crotch) * g["length"] * 1.4
            fl = 6 + g["flare"] * 5
            parts += list(skirt_parts(g, y0, yhi, 48 - hw, 48 + hw, 48 - hw - fl, 48 + hw + fl,
                                      0.0, 0.12 + g["length"]))
        else:
            m, u, v = quad_coords(y0, crotch, 48 - hw, 48 + hw, 48 - hw, 48 + hw)
            parts.append((m, u * 0.5, v * 0.12))
            for sd in (-1, 1):
                p0 = (48 + sd * hw / 2, crotch - 1)
                p1 = (48 + sd * (hw / 2 + 6), crotch + (y1 - crotch) * g["length"])
                sm, su, ss = seg_coords(p0, p1, hw / 2, 6.5)
                parts.append((sm, su * 0.25, 0.12 + ss * g["length"] * 0.88))
    elif c == "SHOES":
        g["_bspan"] = 0.6
        for sd in (-1, 1):
            cx = 48 + sd * 22
            x0, x1 = cx - 17, cx + 17
            yb = 82.0
            ht = 20.0 + g["height"] * 4
            m, u, v = box_coords(x0, yb - ht, x1, yb)
            # shoe silhouette: an ankle column plus a rounded foot
            col = (u > 0.5 - 0.32 * sd * 0 - 0.18) & (u < 0.5 + 0.18) if False else None
            foot = ((_XX - cx) / 17.0) ** 2 + ((_YY - yb + 8.0) / 9.0) ** 2 <= 1.0
            foot &= _YY <= yb
            ankle = (np.abs(_XX - (cx - sd * 6)) <= 8) & (_YY >= yb - ht) & (_YY <= yb - 4)
            sm = (foot | ankle) & m
            parts.append((sm, u * 1.0, v * 0.6))
    elif c == "BAG":
        bw, bh = g["bw"] * 3.6, g["bh"] * 3.6
        x0, x1 = 48 - bw / 2, 48 + bw / 2
        y0 = 66 - bh / 2 + 8
        y1 = y0 + bh
        g["_bspan"] = 1.0
        m, u, v = box_coords(x0, y0, x1, y1)
        if g["round"]:
            m &= ellipse_mask(48, y0, bw / 2, bh * 1.0) | (_YY >= y0 + bh * 0.4)
            m &= _YY >= y0
        parts.append((m, u * g["bw"] / g["bh"], v))
        # handle: darker c1 arc
        hm = np.abs(np.sqrt(((_XX - 48) / (bw * 0.3)) ** 2 + ((_YY - y0) / (bh * 0.45)) ** 2) - 1.0) < 0.08
        hm &= _YY < y0
        img[hm] = g["c1"] * 0.6
    for m, a, b in parts:
        if m.any():
            img[m] = pattern_colour(g, a[m], b[m])
    return np.clip(img, 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------- people
SKIN_LIGHT = np.array([250, 222, 196], np.float32)
SKIN_DARK = np.array([86, 54, 36], np.float32)
HAIR = [np.array(c, np.float32) for c in
        [(25, 20, 18), (60, 40, 25), (110, 75, 40), (200, 165, 100), (150, 60, 30), (140, 140, 140)]]


def random_person(rng):
    p = {}
    p["cx"] = 48 + rng.uniform(-5, 5)
    p["head_cy"] = 14 + rng.uniform(-2, 2)
    p["head_rx"] = rng.uniform(6.5, 8.0)
    p["head_ry"] = rng.uniform(8.0, 9.5)
    p["ys"] = p["head_cy"] + p["head_ry"] + rng.uniform(3.0, 5.0)
    p["th"] = rng.uniform(29, 36)
    p["yw"] = p["ys"] + p["th"]
    p["sw"] = rng.uniform(12, 16)
    p["ww"] = rng.uniform(9, 13)
    p["hw"] = p["ww"] + rng.uniform(0.5, 3.0)
    p["crotch"] = p["yw"] + rng.uniform(7, 10)
    p["ankle"] = 113 + rng.uniform(-3, 2)
    p["spread"] = rng.uniform(0, 4)
    p["bag_side"] = int(rng.choice([-1, 1]))
    p["arm_ang"] = {}
    for sd in (-1, 1):
        lo = 25 if sd == p["bag_side"] else 8
        p["arm_ang"][sd] = math.radians(rng.uniform(lo, 48))
    p["arm_len"] = p["th"] * rng.uniform(1.15, 1.3)
    p["skin"] = SKIN_LIGHT + (SKIN_DARK - SKIN_LIGHT) * rng.random() + rng.uniform(-8, 8, 3).astype(np.float32)
    p["hair"] = HAIR[rng.integers(len(HAIR))] + rng.uniform(-10, 10, 3).astype(np.float32)
    p["hair_long"] = bool(rng.random() < 0.4)
    kind = rng.integers(3)
    bg1 = hsv2rgb(rng.random(), rng.uniform(0.05, 0.45), rng.uniform(0.55, 0.97))
    bg2 = hsv2rgb(rng.random(), rng.uniform(0.05, 0.45), rng.uniform(0.35, 0.9))
    p["bg"] = (int(kind), bg1, bg2, rng.uniform(95, 118))
    return p


def person_geometry(p):
    """Derived geometry shared by body and garment drawing (cached in p['_geo'])."""
    if "_geo" in p:
        return p["_geo"]
    cx, ys, yw = p["cx"], p["ys"], p["yw"]
    geo = {}
    geo["torso"] = (ys, yw, cx - p["sw"], cx + p["sw"], cx - p["ww"], cx + p["ww"])
    geo["torso_wide"] = (ys - 0.5, yw + 0.5, cx - p["sw"] - 1, cx + p["sw"] + 1,
                         cx - p["ww"] - 1, cx + p["ww"] + 1)
    arms = {}
    for sd in (-1, 1):
        p0 = (cx + sd * (p["sw"] - 3.0), ys + 3.0)
        a = p["arm_ang"][sd]
        p1 = (p0[0] + sd * p["arm_len"] * math.sin(a), p0[1] + p["arm_len"] * math.cos(a))
        arms[sd] = (p0, p1)
    geo["arms"] = arms
    legs = {}
    for sd in (-1, 1):
        p0 = (cx + sd * p["hw"] / 2, p["crotch"] - 3)
        p1 = (cx + sd * (p["hw"] / 2 + p["spread"]), p["ankle"])
        legs[sd] = (p0, p1)
    geo["legs"] = legs
    p["_geo"] = geo
    return geo


def leg_outer_inner(p, y):
    """x extent of the two legs at row y (for skirts)."""
    geo = person_geometry(p)
    f = (y - (p["crotch"] - 3)) / (p["ankle"] - (p["crotch"] - 3))
    out = []
    for sd in (-1, 1):
        p0, p1 = geo["legs"][sd]
        cxl = p0[0] + (p1[0] - p0[0]) * f
        w = p["hw"] / 2 + (3.0 - p["hw"] / 2) * f
        out.append(cxl - w if sd < 0 else cxl + w)
    return out  # left outer, right outer


def render(p, outfit):
    """Person p wearing outfit {category: garment}. Returns (img uint8 [H,W,3], labels uint8 [H,W])."""
    geo = person_geometry(p)
    img = np.empty((H, W, 3), np.float32)
    lab = np.zeros((H, W), np.uint8)
    kind, bg1, bg2, fy = p["bg"]
    if kind == 0:
        img[:] = bg1
    elif kind == 1:
        t = (_YY / H)[..., None]
        img[:] = bg1 * (1 - t) + bg2 * t
    else:
        img[:] = np.where((_YY >= fy)[..., None], bg2, bg1)
    skin = p["skin"]
    cx = p["cx"]
    # legs
    for sd in (-1, 1):
        p0, p1 = geo["legs"][sd]
        m, _, _ = seg_coords(p0, p1, p["hw"] / 2, 3.0, 0.0, 1.0)
        img[m] = skin * 0.96
        lab[m] = L["legs"]
    m, _, _ = quad_coords(p["yw"], p["crotch"], cx - p["ww"], cx + p["ww"], cx - p["hw"], cx + p["hw"])
    img[m] = skin * 0.96
    lab[m] = L["legs"]
    feet_zone = (_YY >= p["ankle"] - 4) & (lab == L["legs"])
    lab[feet_zone] = L["feet"]
    for sd in (-1, 1):
        ax = geo["legs"][sd][1][0]
        m = ellipse_mask(ax + sd * 2.0, p["ankle"] + 3.0, 4.5, 3.5)
        img[m] = skin * 0.93
        lab[m] = L["feet"]
    # shoes
    g = outfit.get("SHOES")
    if g is not None:
        g["_bspan"] = 0.6
        for sd in (-1, 1):
            ax = geo["legs"][sd][1][0]
            x0, x1 = ax + sd * 2.0 - 5.5, ax + sd * 2.0 + 5.5
            yb = p["ankle"] + 7.0
            yt = p["ankle"] - 1.0 - g["height"]
            m, u, v = box_coords(x0, yt, x1, yb)
            foot = ellipse_mask(ax + sd * 2.0, p["ankle"] + 3.5, 5.5, 4.0)
            col = (np.abs(_XX - ax) <= 3.8) & (_YY >= yt)
            sm = m & (foot | col)
            if sd > 0:
                u = u
            else:
                u = 1.0 - u  # mirror like the product's left shoe
            paint(img, lab, sm, u * 1.0, v * 0.6, g, L["shoes"])
    # bottom / dress skirt
    d = outfit.get("DRESS")
    b = outfit.get("BOTTOM")
    if b is not None:
        b["_bspan"] = 1.0
        if b["skirt"]:
            yhi = p["crotch"] + (p["ankle"] - p["crotch"]) * b["length"]
            lo, ro = leg_outer_inner(p, yhi)
            fl = b["flare"]
            for m, a, bb in skirt_parts(b, p["yw"], yhi, cx - p["ww"] - 0.5, cx + p["ww"] + 0.5,
                                        lo - fl, ro + fl, 0.0, 0.12 + b["length"]):
                paint(img, lab, m, a, bb, b, L["bottom"])
        else:
            m, u, v = quad_coords(p["yw"] - 0.5, p["crotch"], cx - p["ww"] - 1, cx + p["ww"] + 1,
                                  cx - p["hw"] - 1, cx + p["hw"] + 1)
            paint(img, lab, m, u * 0.5, v * 0.12, b, L["bottom"])
            for sd in (-1, 1):
                p0, p1 = geo["legs"][sd]
                frac = b["length"]
                smax = frac * (p["ankle"] - 4.5 - p0[1]) / (p1[1] - p0[1])
                sm, su, ss = seg_coords(p0, p1, p["hw"] / 2 + 1.0, 4.0, 0.0, smax)
                paint(img, lab, sm, su * 0.25, 0.12 + (ss / max(smax, 1e-3)) * frac * 0.88, b, L["bottom"])
    if d is not None:
        d["_bspan"] = 1.0 + d["length"] * 2.0
        yhi = p["crotch"] + (p["ankle"] - p["crotch"]) * d["length"]
        lo, ro = leg_outer_inner(p, yhi)
        fl = d["flare"]
        for m, a, bb in skirt_parts(d, p["yw"] - 0.5, yhi, cx - p["ww"] - 1, cx + p["ww"] + 1,
                                    lo - fl, ro + fl, 1.0, d["length"] * 2.0):
            paint(img, lab, m, a, bb, d, L["dress"])
    # torso (always covered by a top or a dress, drawn as skin underneath)
    m, _, _ = quad_coords(*geo["torso"])
    img[m] = skin
    lab[m] = L["arms"]
    top = outfit.get("TOP") if d is None else d
    tl = L["top"] if d is None else L["dress"]
    if top is not None and d is None:
        top["_bspan"] = 1.0
    m, u, v = quad_coords(*geo["torso_wide"])
    if top is not None:
        paint(img, lab, m, u * 0.85, v, top, tl)
    # arms + sleeves + hands
    for sd in (-1, 1):
        p0, p1 = geo["arms"][sd]
        m, _, _ = seg_coords(p0, p1, 3.2, 2.5, 0.0, 1.0)
        img[m] = skin
        lab[m] = L["arms"]
        if top is not None and top.get("sleeve", 0) > 0:
            sm, su, ss = seg_coords(p0, p1, 4.0, 3.3, 0.0, top["sleeve"])
            paint(img, lab, sm, su * 0.25, ss * 1.2, top, tl)
        hx = p1[0] + sd * 0.5
        hy = p1[1] + 1.5
        m = ellipse_mask(hx, hy, 2.8, 3.3)
        img[m] = skin * 1.02
        lab[m] = L["skin"]
    # neck, head, hair
    m, _, _ = quad_coords(p["head_cy"] + p["head_ry"] - 3, p["ys"] + 0.5, cx - 3, cx + 3, cx - 3.5, cx + 3.5)
    img[m] = skin * 0.95
    lab[m] = L["skin"]
    hm = ellipse_mask(cx, p["head_cy"], p["head_rx"], p["head_ry"])
    img[hm] = skin
    lab[hm] = L["skin"]
    hair = ellipse_mask(cx, p["head_cy"] - 1.0, p["head_rx"] + 1.2, p["head_ry"] + 0.8)
    if p["hair_long"]:
        cut = p["head_cy"] + p["head_ry"] * 0.9
        hair &= (_YY < p["head_cy"] - 1.5) | ((np.abs(_XX - cx) > p["head_rx"] - 1.5) & (_YY < cut))
    else:
        hair &= _YY < p["head_cy"] - 2.5
    img[hair] = p["hair"]
    lab[hair] = L["hair"]
    for ex in (-1, 1):
        em = ellipse_mask(cx + ex * p["head_rx"] * 0.4, p["head_cy"] + 0.5, 0.9, 0.9)
        img[em] = (30, 25, 25)
    # bag zone and bag
    sd = p["bag_side"]
    p0, p1 = geo["arms"][sd]
    hx, hy = p1[0] + sd * 0.5, p1[1] + 1.5
    bzx = hx + sd * 2.0
    zm, _, _ = box_coords(bzx - 11, hy - 2, bzx + 11, hy + 19)
    zm &= lab == L["background"]
    lab[zm] = L["bag_zone"]
    g = outfit.get("BAG")
    if g is not None:
        g["_bspan"] = 1.0
        bw, bh = g["bw"], g["bh"]
        y0 = hy + 4.0
        x0, x1 = bzx - bw / 2, bzx + bw / 2
        hm = np.abs(np.sqrt(((_XX - bzx) / (bw * 0.3)) ** 2 + ((_YY - y0) / 5.0) ** 2) - 1.0) < 0.22
        hm &= _YY < y0
        img[hm] = g["c1"] * 0.6
        lab[hm] = L["bag"]
        m, u, v = box_coords(x0, y0, x1, y0 + bh)
        if g["round"]:
            m &= ellipse_mask(bzx, y0, bw / 2, bh) | (_YY >= y0 + bh * 0.4)
        paint(img, lab, m, u * bw / bh, v, g, L["bag"])
        # hand in front of the handle
        m = ellipse_mask(hx, hy, 2.8, 3.3)
        img[m] = skin * 1.02
        lab[m] = L["skin"]
    return np.clip(img, 0, 255).astype(np.uint8), lab


# ----------------------------------------------------------------------------- masks
def dilate(m, r):
    if r <= 0:
        return m
    out = m.copy()
    pad = np.pad(m, r)
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            out |= pad[r + dy:r + dy + H, r + dx:r + dx + W]
    return out


def category_mask(labels_list, categories):
    """Union over categories of dilate(isin(labels, rule.labels)) over all given label maps."""
    out = np.zeros((H, W), bool)
    for c in categories:
        rule = CATEGORY_MASK[c]
        ids = [L[n] for n in rule["labels"]]
        m = np.zeros((H, W), bool)
        for lab in labels_list:
            m |= np.isin(lab, ids)
        out |= dilate(m, rule["dilate"])
    return out


def latent_mask(m, f=4):
    """max-pool a [H,W] bool mask by f -> [H/f, W/f] float32."""
    return m.reshape(H // f, f, W // f, f).max(axis=(1, 3)).astype(np.float32)


# ----------------------------------------------------------------------------- samples
def random_outfit(rng):
    o = {}
    if rng.random() < 0.7:
        o["TOP"] = random_garment(rng, "TOP")
        o["BOTTOM"] = random_garment(rng, "BOTTOM")
    else:
        o["DRESS"] = random_garment(rng, "DRESS")
    if rng.random() < 0.6:
        o["SHOES"] = random_garment(rng, "SHOES")
    if rng.random() < 0.4:
        o["BAG"] = random_garment(rng, "BAG")
    return o


def change_outfit(rng, a, max_refs=4):
    """Outfit B from A: replaces 1..max_refs categories (or adds shoes / a bag).
    A valid outfit holds at most four garments (top, bottom, shoes, bag), so four is the most
    that can change at once. Returns (B, new categories in canonical order)."""
    for _ in range(50):
        b = dict(a)
        new = []
        if "DRESS" in a:
            actions = ["DRESS", "TOPBOTTOM"]
        else:
            actions = ["TOP", "BOTTOM", "DRESS"]
        actions += ["SHOES", "BAG"]
        k = int(rng.integers(1, 5))
        chosen = list(rng.permutation(actions)[:k])
        if "DRESS" in chosen and any(x in chosen for x in ("TOP", "BOTTOM", "TOPBOTTOM")):
            chosen.remove("DRESS")
        for act in chosen:
            if act == "TOPBOTTOM":
                b.pop("DRESS", None)
                b["TOP"] = random_garment(rng, "TOP")
                b["BOTTOM"] = random_garment(rng, "BOTTOM")
                new += ["TOP", "BOTTOM"]
            elif act == "DRESS":
                b.pop("TOP", None)
                b.pop("BOTTOM", None)
                b["DRESS"] = random_garment(rng, "DRESS")
                new.append("DRESS")
            else:
                b[act] = random_garment(rng, act)
                new.append(act)
        new = sorted(set(new), key=CAT_ID.get)
        if 1 <= len(new) <= max_refs:
            return b, new
    b = dict(a)
    b["SHOES"] = random_garment(rng, "SHOES")
    return b, ["SHOES"]


def make_example(rng, max_refs=4):
    """One training example.
    Returns dict: src [H,W,3] u8, tgt [H,W,3] u8, refs [S,H,W,3] u8, cats [S] int,
    mask [H,W] bool, src_lab, tgt_lab."""
    p = random_person(rng)
    a = random_outfit(rng)
    b, new = change_outfit(rng, a, max_refs)
    src, src_lab = render(p, a)
    tgt, tgt_lab = render(p, b)
    refs = np.stack([render_product(b[c]) for c in new])
    mask = category_mask([src_lab, tgt_lab], new)
    return {"src": src, "tgt": tgt, "refs": refs, "cats": np.array([CAT_ID[c] for c in new]),
            "mask": mask, "src_lab": src_lab, "tgt_lab": tgt_lab}


if __name__ == "__main__":
    import sys, time
    from PIL import Image
    rng = np.random.default_rng(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    t = time.time()
    rows = []
    for i in range(8):
        e = make_example(rng)
        pal = (np.array(LABELS and list(range(len(LABELS)))) * 21).astype(np.uint8)
        labimg = np.repeat(pal[e["tgt_lab"]][..., None], 3, 2)
        mimg = np.repeat((e["mask"] * 255).astype(np.uint8)[..., None], 3, 2)
        refs = list(e["refs"]) + [np.full((H, W, 3), 128, np.uint8)] * (3 - len(e["refs"]))
        rows.append(np.concatenate([e["src"], mimg, e["tgt"], labimg] + refs, 1))
    print("per example ms", (time.time() - t) / 8 * 1000)
    Image.fromarray(np.concatenate(rows, 0)).save("out/datagen_preview.png")
