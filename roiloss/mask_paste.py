"""torchvision's paste of a pooled mask into the image, transcribed (docs/semantics.md §12.1), and
the area and overlap of the pasted mask counted without rasterising it (§12.5).

torchvision/models/detection/roi_heads.py (pytorch/vision e1380cbd): ``expand_masks``,
``expand_boxes``, ``paste_mask_in_image``, ``paste_masks_in_image(masks, boxes, img_shape,
padding=1)``; the boxes and masks are float32 tensors, ``F.interpolate(mode="bilinear",
align_corners=False)`` as ATen's ``UpSample.h`` (``area_pixel_compute_source_index``,
``guard_index_and_lambda``) and its 2-D CPU kernel.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

def expanded_boxes(x1, y1, x2, y2, cols: int) -> np.ndarray:
    """``expand_boxes(boxes, scale).to(int64)`` with ``scale = (M + 2) / M`` (``expand_masks``,
    padding 1, ``M`` = the mask's width), in float32 as the tensors are: ``(n, 4)`` int64."""
    f = np.float32
    x1, y1, x2, y2 = (np.asarray(v, dtype=f) for v in (x1, y1, x2, y2))
    scale = f(float(cols + 2) / cols)
    w_half, h_half = (x2 - x1) * f(.5) * scale, (y2 - y1) * f(.5) * scale
    x_c, y_c = (x2 + x1) * f(.5), (y2 + y1) * f(.5)
    with np.errstate(invalid="ignore"):
        return np.stack([x_c - w_half, y_c - h_half, x_c + w_half, y_c + h_half], axis=1).astype(np.int64)


@lru_cache(maxsize=8192)
def upsample_weights(n_in: int, n_out: int):
    """``F.interpolate(..., size=n_out, mode="bilinear", align_corners=False)`` along one axis:
    per output pixel the two source indices and their float32 weights. Source ``scale * (i + 0.5)
    - 0.5`` with ``scale = float32(n_in) / n_out`` (at least 0), lower index ``min(floor, n_in - 1)``,
    weight ``min(src - lower, 1)`` on the next index (the last index repeats)."""
    f = np.float32
    scale = f(n_in) / f(n_out)
    src = np.maximum(scale * (np.arange(n_out, dtype=f) + f(0.5)) - f(0.5), f(0))
    lo = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    lam = np.clip(src - lo.astype(f), f(0), f(1)).astype(f)
    return lo, lo + (lo < n_in - 1), f(1) - lam, lam


def upsample_matrix(n_in: int, n_out: int) -> np.ndarray:
    """:func:`upsample_weights` as a dense ``(n_out, n_in)`` matrix (for tests and figures)."""
    lo, hi, w_lo, w_hi = upsample_weights(n_in, n_out)
    out = np.zeros((n_out, n_in))
    np.add.at(out, (np.arange(n_out), lo), w_lo)
    np.add.at(out, (np.arange(n_out), hi), w_hi)
    return out


RASTER_LIMIT = 60_000  # pasted pixels (all masks of a stack) below which Paste.areas rasterises


@dataclass
class Paste:
    """One instance's paste: the in-image part ``[y0, y1) x [x0, x1)`` of the expanded integer box
    and, for its rows and columns, the interpolation's source indices and weights."""

    y0: int
    y1: int
    x0: int
    x1: int
    rows: tuple  # (lo, hi, w_lo, w_hi) per image row of the part
    cols: tuple

    @classmethod
    def of(cls, box: np.ndarray, rows: int, cols: int, im_h: int, im_w: int) -> "Paste":
        bx0, by0, bx1, by1 = (int(v) for v in box)
        w, h = max(bx1 - bx0 + 1, 1), max(by1 - by0 + 1, 1)  # TO_REMOVE = 1
        x0, x1 = max(bx0, 0), max(min(bx1 + 1, im_w), max(bx0, 0))
        y0, y1 = max(by0, 0), max(min(by1 + 1, im_h), max(by0, 0))
        ry = tuple(v[y0 - by0:y1 - by0] for v in upsample_weights(rows + 2, h))
        rx = tuple(v[x0 - bx0:x1 - bx0] for v in upsample_weights(cols + 2, w))
        return cls(y0, y0 + len(ry[0]), x0, x0 + len(rx[0]), ry, rx)

    def values(self, q: np.ndarray) -> np.ndarray:
        """The pasted probabilities on the in-image part for a stack ``q`` ``(k, rows, cols)``: each
        padded by one zero cell, resized in float32 as ATen's bilinear kernel,
        ``h0 * (w0 * v00 + w1 * v01) + h1 * (w0 * v10 + w1 * v11)``."""
        padded = np.zeros((q.shape[0], q.shape[1] + 2, q.shape[2] + 2), dtype=np.float32)
        padded[:, 1:-1, 1:-1] = q
        lo, hi, w_lo, w_hi = self.cols
        across = w_lo * padded[:, :, lo] + w_hi * padded[:, :, hi]
        lo, hi, w_lo, w_hi = self.rows
        return w_lo[:, None] * across[:, lo] + w_hi[:, None] * across[:, hi]

    def mask(self, q: np.ndarray) -> np.ndarray:
        """``paste(q) >= 0.5`` on the in-image part, ``(k, y1 - y0, x1 - x0)`` (for figures)."""
        return self.values(q) >= 0.5

    def areas(self, q: np.ndarray, column_sums: np.ndarray, py0: int, px0: int):
        """Per pasted mask of the stack ``q``: its area ``|R|`` and its overlap with the mask ``|R & M|``
        without rasterising ``R``. Rows of the part that read the same two source rows form a group;
        in a group ``R = (1 - l) a + l b`` with ``l`` increasing down the rows, so for each column
        the rows with ``R >= 0.5`` are a prefix or a suffix of the group: a search per group and
        column, and the overlap from the mask's running sums down each column (``column_sums``,
        ``(h + 1, w)`` of the window from ``(py0, px0)``). The resize along x is ATen's float32
        arithmetic; the row decision ``l >= (0.5 - a) / (b - a)`` is float64 (docs §12: it can differ
        from torchvision's float32 ``(1 - l) a + l b >= 0.5`` only for a value within ~1e-7 of 0.5
        that is not a dyadic tie)."""
        k = len(q)
        if self.y1 <= self.y0 or self.x1 <= self.x0:
            return np.zeros(k), np.zeros(k)
        if k * (self.y1 - self.y0) * (self.x1 - self.x0) <= RASTER_LIMIT:  # small: the raster is cheaper
            pasted = self.mask(q)
            inside = (column_sums[1:] != column_sums[:-1])[self.y0 - py0:self.y1 - py0, self.x0 - px0:self.x1 - px0]
            return (np.array([np.count_nonzero(p) for p in pasted], dtype=float),
                    np.array([np.count_nonzero(p & inside) for p in pasted], dtype=float))
        padded = np.zeros((k, q.shape[1] + 2, q.shape[2] + 2), dtype=np.float32)
        padded[:, 1:-1, 1:-1] = q
        lo, hi, w_lo, w_hi = self.cols
        across = (w_lo * padded[:, :, lo] + w_hi * padded[:, :, hi]).astype(np.float64)  # float32 as ATen
        g_lo, g_hi, first, end, keys = self.groups
        a, b = across[:, g_lo], across[:, g_hi]  # (k, groups, columns)
        first, end = first[None, :, None], end[None, :, None]
        base = 2.0 * np.arange(len(g_lo))[None, :, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.clip((0.5 - a) / (b - a), -0.5, 1.5)
        up, down = b > a, b < a
        start = np.where(up, np.searchsorted(keys, base + t, "left"), first)
        stop = np.where(down, np.searchsorted(keys, base + t, "right"), end)
        flat = ~(up | down)
        on = np.where(flat, a >= 0.5, stop > start)
        start, stop = np.where(on, start, 0), np.where(on, stop, 0)
        rows = self.y0 - py0
        cols = np.arange(self.x0 - px0, self.x1 - px0)[None, None, :]
        inter = column_sums[stop + rows, cols] - column_sums[start + rows, cols]
        area_, inter = (stop - start).sum(axis=(1, 2)).astype(float), inter.sum(axis=(1, 2)).astype(float)
        return area_, inter

    @property
    def groups(self):
        """Row groups of the part: source rows, first and end row, and the sort keys ``2 g + l``."""
        lo, hi, _, w_hi = self.rows
        n = len(lo)
        first = np.flatnonzero(np.concatenate([[True], (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])])) if n else lo
        end = np.append(first[1:], n)
        group = np.repeat(np.arange(len(first)), end - first)
        return lo[first], hi[first], first, end, 2.0 * group + w_hi.astype(np.float64)
