"""Seeded random geometry for the conformance tests: boxes inside, touching and crossing every edge
of the map, sub-cell boxes, non-square pools, strides 4-64 and sampling ratios 0-4."""

import numpy as np


def _edges(rng, side, stride, n, exact):
    """``n`` (lo, hi) pairs on one axis of an image ``side`` px long, one placement kind each."""
    kinds = rng.integers(0, 7, n)
    lo = np.empty(n)
    hi = np.empty(n)
    for i, kind in enumerate(kinds):
        if kind == 0:  # inside
            a, b = np.sort(rng.uniform(0, side, 2))
        elif kind == 1:  # touching the low edge
            a, b = 0.0, rng.uniform(0, side)
        elif kind == 2:  # touching the high edge
            a, b = rng.uniform(0, side), side
        elif kind == 3:  # crossing the low edge
            a, b = rng.uniform(-2 * stride, 0), rng.uniform(0, side)
        elif kind == 4:  # crossing the high edge
            a, b = rng.uniform(0, side), rng.uniform(side, side + 2 * stride)
        elif kind == 5:  # sub-cell
            a = rng.uniform(-stride, side)
            b = a + rng.uniform(0.05, 1.0) * stride
        else:  # covering the whole map and more
            a, b = rng.uniform(-stride, 0), rng.uniform(side, side + stride)
        lo[i], hi[i] = a, b
    if exact:  # quarter pixels: exact in float32 and hits cell boundaries and half cells often
        lo, hi = np.floor(lo * 4) / 4, np.ceil(hi * 4) / 4
    lo = lo.astype(np.float32).astype(float)
    hi = np.maximum(hi.astype(np.float32).astype(float), np.nextafter(lo, np.inf, dtype=np.float32).astype(float) + 0.25)
    return lo, hi


def configurations(seed, count, boxes_per_config=10):
    """Yield dicts: stride, pool, ratio, map size, image size and a ``(n, 4)`` array of boxes."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        power_of_two = rng.random() < 0.5
        stride = int(rng.choice([4, 8, 16, 32, 64])) if power_of_two else int(rng.integers(4, 65))
        map_h, map_w = (int(v) for v in rng.integers(1, 13, 2))
        image_h = map_h * stride - float(rng.integers(0, stride))
        image_w = map_w * stride - float(rng.integers(0, stride))
        pool = (int(rng.integers(1, 8)), int(rng.integers(1, 8)))
        ratio = int(rng.integers(0, 5))
        y1, y2 = _edges(rng, image_h, stride, boxes_per_config, power_of_two)
        x1, x2 = _edges(rng, image_w, stride, boxes_per_config, power_of_two)
        yield dict(stride=stride, pool=pool, ratio=ratio, map_h=map_h, map_w=map_w,
                   image=(image_w, image_h), boxes=np.stack([x1, y1, x2, y2], axis=1))
