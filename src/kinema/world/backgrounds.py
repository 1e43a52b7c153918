"""Backgrounds (a far layer above the floor, a near ground band below it) and falling weather.

Every colour here stays below HSV saturation 0.45 (or is dark), so objects are the only
saturated things in a frame. Textures are functions of world x, periodic over two widths, so a
camera pan of any length slides them smoothly: the near band at the pan speed, the far layer
at a fraction of it (parallax).
"""

from __future__ import annotations

import numpy as np

from kinema.world.spec import FLOOR_Y, PLAIN_BACKGROUNDS

PERIOD = 2.0  # widths after which every background texture repeats

SKY_TOP, SKY_HORIZON = (142, 182, 232), (206, 224, 240)
PALE_SKY_TOP, PALE_SKY_HORIZON = (170, 200, 235), (214, 228, 240)
CLOUD = (246, 248, 250)
GRASS_FIELD, GRASS_NEAR, TREES = (112, 146, 86), (88, 116, 70), (72, 92, 70)
GRASS_HORIZON_Y = 0.42
NIGHT_TOP, NIGHT_HORIZON, NIGHT_GROUND = (16, 20, 44), (34, 38, 70), (30, 32, 40)
STRIPE_LIGHT, STRIPE_DARK, STRIPE_PERIOD = (204, 192, 170), (172, 160, 138), 0.125
WOOD = (150, 118, 92)
HILLS = (150, 158, 128)
SNOW, RAIN = (250, 250, 252), (185, 196, 212)


def background(name: str, seed: int, height: int, width: int, shift: np.ndarray, parallax: float) -> np.ndarray:
    """Float32 canvas (T, H, W, 3) of the background; `shift` is the near layer's screen shift in pixels per frame."""
    rng = np.random.default_rng([seed, 1])
    panning = bool(np.any(shift != 0))
    shifts = shift if panning else shift[:1]
    cols = np.arange(width, dtype=np.float64)[None, :]
    far_x = (cols - parallax * shifts[:, None]) / width  # (N, W) world x of each column, far layer
    near_x = (cols - shifts[:, None]) / width
    ys = (np.arange(height, dtype=np.float64) + 0.5) / height
    floor_row = int(round(FLOOR_Y * height))
    far = far_layer(name, rng, far_x, ys[:floor_row], width, height)  # (N, floor, W, 3)
    near = ground_band(name, rng, near_x, height - floor_row)  # (N, H - floor, W, 3)
    canvas = np.concatenate([far, near], axis=1).astype(np.float32)
    if not panning:
        canvas = np.repeat(canvas, len(shift), axis=0)
    return canvas


def far_layer(name: str, rng: np.random.Generator, xw: np.ndarray, ys: np.ndarray, width: int, height: int) -> np.ndarray:
    """The part above the floor: plain colour, sky with clouds, grass field with trees, night with stars, stripes."""
    n, w = xw.shape
    if name in PLAIN_BACKGROUNDS:
        return np.broadcast_to(np.asarray(PLAIN_BACKGROUNDS[name], np.float32), (n, len(ys), w, 3)).copy()
    if name == "sky":
        layer = vertical_gradient(SKY_TOP, SKY_HORIZON, ys / FLOOR_Y, n, w)
        add_clouds(layer, rng, xw, ys, width / height)
        return layer
    if name == "grass":
        sky = vertical_gradient(PALE_SKY_TOP, PALE_SKY_HORIZON, ys / GRASS_HORIZON_Y, n, w)
        field = vertical_gradient(GRASS_FIELD, tuple(0.9 * c for c in GRASS_FIELD), (ys - GRASS_HORIZON_Y) / (FLOOR_Y - GRASS_HORIZON_Y), n, w)
        treeline = GRASS_HORIZON_Y - tree_heights(rng, xw)  # (N, W)
        is_tree = (ys[None, :, None] > treeline[:, None, :]) & (ys[None, :, None] < GRASS_HORIZON_Y)
        in_field = np.broadcast_to(ys[None, :, None] >= GRASS_HORIZON_Y, is_tree.shape)
        layer = np.where(in_field[..., None], field, sky)
        return np.where(is_tree[..., None], np.asarray(TREES, np.float32), layer)
    if name == "night":
        layer = vertical_gradient(NIGHT_TOP, NIGHT_HORIZON, ys / FLOOR_Y, n, w)
        add_stars(layer, rng, xw, ys, height)
        return layer
    if name == "stripes":
        phase = np.mod(xw / STRIPE_PERIOD, 1.0)  # (N, W)
        edge_px = STRIPE_PERIOD * width
        light = np.clip(np.minimum(phase, 0.5 - phase) * edge_px + 0.5, 0.0, 1.0)  # anti-aliased edges
        light = np.where(phase < 0.5, light, 0.0)[:, None, :, None]
        colour = light * np.asarray(STRIPE_LIGHT, np.float32) + (1 - light) * np.asarray(STRIPE_DARK, np.float32)
        return np.broadcast_to(colour, (n, len(ys), w, 3)).astype(np.float32)
    raise ValueError(f"unknown background {name!r}")


def ground_band(name: str, rng: np.random.Generator, xw: np.ndarray, rows: int) -> np.ndarray:
    """The floor band below FLOOR_Y, with a texture along x so that a pan shows on it."""
    n, w = xw.shape
    if name in PLAIN_BACKGROUNDS:
        base = np.asarray(PLAIN_BACKGROUNDS[name], np.float32) * (0.86 if name != "charcoal" else 1.3)
        return np.broadcast_to(base, (n, rows, w, 3)).copy()
    base = {"sky": HILLS, "grass": GRASS_NEAR, "night": NIGHT_GROUND, "stripes": WOOD}[name]
    # A sum of whole-period waves: every column differs from its neighbours, so a shift shows everywhere.
    cycles = np.round(rng.uniform(3, 6, size=3) * PERIOD)  # 3 to 6 waves per width: no aliasing of a pan
    phases = rng.uniform(0, 2 * np.pi, size=3)
    texture = 1.0 + 0.09 * sum(np.sin(2 * np.pi * c / PERIOD * xw + p) for c, p in zip(cycles, phases))
    if name == "stripes":
        texture = np.where(np.mod(xw, 0.1) < 0.012, 0.78, texture)  # floor-board seams
    texture = texture.astype(np.float32)[:, None, :, None]  # (N, 1, W, 1)
    return np.broadcast_to(texture * np.asarray(base, np.float32), (n, rows, w, 3)).copy()


def vertical_gradient(top: tuple, bottom: tuple, u: np.ndarray, n: int, w: int) -> np.ndarray:
    """Rows blending from `top` (u=0) to `bottom` (u=1), broadcast to (N, rows, W, 3)."""
    u = np.clip(u, 0.0, 1.0)[:, None].astype(np.float32)
    rows = (1 - u) * np.asarray(top, np.float32) + u * np.asarray(bottom, np.float32)  # (rows, 3)
    return np.broadcast_to(rows[None, :, None, :], (n, len(u), w, 3)).copy()


def periodic_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Signed x distance a - b on the texture's periodic axis."""
    return np.mod(a - b + PERIOD / 2, PERIOD) - PERIOD / 2


def add_clouds(layer: np.ndarray, rng: np.random.Generator, xw: np.ndarray, ys: np.ndarray, aspect: float) -> None:
    """Soft white elliptical clouds in the upper sky, in place."""
    for _ in range(int(rng.integers(4, 8))):
        cx, cy = rng.uniform(0, PERIOD), rng.uniform(0.08, 0.45)
        rx, ry = rng.uniform(0.08, 0.16), rng.uniform(0.035, 0.06) * aspect
        dx = periodic_distance(xw, cx)[:, None, :] / rx  # (N, 1, W)
        dy = ((ys - cy) / ry)[None, :, None]
        alpha = (0.85 * np.exp(-1.6 * (dx * dx + dy * dy) ** 2)).astype(np.float32)[..., None]
        layer *= 1 - alpha
        layer += alpha * np.asarray(CLOUD, np.float32)


def tree_heights(rng: np.random.Generator, xw: np.ndarray) -> np.ndarray:
    """Height (in heights) of the tree line above the horizon at each world x."""
    heights = np.zeros_like(xw)
    for _ in range(10):
        cx, width, tall = rng.uniform(0, PERIOD), rng.uniform(0.03, 0.08), rng.uniform(0.04, 0.1)
        heights = np.maximum(heights, tall * np.clip(1 - (periodic_distance(xw, cx) / width) ** 2, 0, 1))
    return heights


def add_stars(layer: np.ndarray, rng: np.random.Generator, xw: np.ndarray, ys: np.ndarray, height: int) -> None:
    """White dots of varied brightness in the upper night sky, in place."""
    n, rows, w, _ = layer.shape
    count = 30  # sparse and soft: fine detail an 8x-compressing VAE can still carry
    star_x, star_y = rng.uniform(0, PERIOD, count), rng.uniform(0.03, FLOOR_Y - 0.12, count)
    brightness = rng.uniform(0.35, 0.8, count)
    # Column of each star on screen: invert the (monotonic) per-frame map from column to world x.
    origin = xw[:, :1]  # (N, 1) world x of column 0
    col = np.mod(star_x[None, :] - origin, PERIOD) * w  # (N, K)
    row = star_y[None, :] * height - 0.5
    alpha = splat_dots((n, rows, w), col, np.broadcast_to(row, col.shape), max(0.5, height / 110), brightness)
    layer *= 1 - alpha[..., None]
    layer += alpha[..., None] * np.float32(255)


def splat_dots(shape: tuple[int, int, int], cols: np.ndarray, rows: np.ndarray, radius: float, strength: np.ndarray | float) -> np.ndarray:
    """Alpha (N, H, W) of anti-aliased round dots at pixel positions cols/rows (N, K)."""
    n, h, w = shape
    reach = int(np.ceil(radius + 0.5))
    offsets = np.arange(-reach, reach + 1)
    base_c, base_r = np.round(cols), np.round(rows)
    pc = base_c[..., None, None] + offsets[None, None, None, :]  # (N, K, 1, O)
    pr = base_r[..., None, None] + offsets[None, None, :, None]  # (N, K, O, 1)
    dist = np.sqrt((pc - cols[..., None, None]) ** 2 + (pr - rows[..., None, None]) ** 2)
    weight = np.clip(radius + 0.5 - dist, 0.0, 1.0) * np.broadcast_to(np.asarray(strength), cols.shape)[..., None, None]
    pc, pr = np.broadcast_arrays(pc, pr)
    frame = np.broadcast_to(np.arange(n)[:, None, None, None], pc.shape)
    inside = (pc >= 0) & (pc < w) & (pr >= 0) & (pr < h) & (weight > 0)
    index = (frame[inside] * h + pr[inside]) * w + pc[inside]
    acc = np.bincount(index.astype(np.int64), weights=weight[inside], minlength=n * h * w)
    return np.minimum(acc, 1.0).reshape(n, h, w).astype(np.float32)


def draw_weather(canvas: np.ndarray, weather: str, seed: int, times: np.ndarray) -> None:
    """Falling snowflakes or rain streaks in front of everything, in place."""
    n, h, w, _ = canvas.shape
    rng = np.random.default_rng([seed, 2])
    unit = min(h, w)
    if weather == "snow":
        count = 30
        x0, y0 = rng.uniform(0, 1, count), rng.uniform(0, 1, count)
        fall, sway = rng.uniform(0.1, 0.2, count), rng.uniform(0, 2 * np.pi, count)
        ys = np.mod(y0[None] + fall[None] * times[:, None], 1.0)
        xs = np.mod(x0[None] + 0.015 * np.sin(2.0 * times[:, None] + sway[None]), 1.0)
        alpha = 0.75 * splat_dots((n, h, w), xs * w, ys * h, max(0.6, unit / 100), 1.0)
        colour = SNOW
    elif weather == "rain":
        count, length = 30, 0.07
        x0, y0 = rng.uniform(0, 1, count), rng.uniform(0, 1, count)
        head_y = np.mod(y0[None] + 1.5 * times[:, None], 1.0 + length)  # (N, K)
        steps = np.linspace(0.0, 1.0, 6)
        ys = head_y[..., None] - length * steps  # streak points, (N, K, 6)
        xs = np.broadcast_to(x0[None, :, None], ys.shape)  # straight down: weather never fakes a pan
        alpha = 0.4 * splat_dots((n, h, w), (xs * w).reshape(n, -1), (ys * h).reshape(n, -1), max(0.4, unit / 160), 1.0)
        colour = RAIN
    else:
        raise ValueError(f"unknown weather {weather!r}")
    canvas *= 1 - alpha[..., None]
    canvas += alpha[..., None] * np.asarray(colour, np.float32)
