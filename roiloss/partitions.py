"""Past one machine: analyse partitions anywhere, merge their summaries exactly.

:func:`roiloss.analyze` is a partition function as it is (a DataFrame in, a DataFrame out), so
Dask runs it with ``map_partitions``. For the summary statistics, each partition keeps what its
summary needs (:func:`summary_part`: counts, and the float32 values of the four metrics, from which
means are exact and quantiles are the exact quantiles of all values); :func:`merge_summaries`
joins any number of parts in any order into the same table a single process computes.

Example with Dask (``pip install "dask[dataframe]" distributed``)::

    import dask, dask.dataframe as dd, roiloss
    from dask.distributed import Client, LocalCluster

    client = Client(LocalCluster(n_workers=2, threads_per_worker=1))
    boxes = dd.read_parquet("boxes/")                      # columns found as in a CSV: x1,y1,x2,y2,...
    rows = boxes.map_partitions(roiloss.analyze, preset="detectron2",
                                meta=roiloss.analyze(boxes._meta, preset="detectron2"))
    parts = [dask.delayed(roiloss.summary_part)(p, preset="detectron2") for p in boxes.to_delayed()]
    summary = roiloss.merge_summaries(dask.compute(*parts))

``rows`` holds every box's row (write it with ``rows.to_parquet(...)``); ``summary`` equals
``roiloss.summarize(roiloss.analyze(all_boxes, preset="detectron2"))`` exactly.
"""

from __future__ import annotations

from typing import Iterable

import pandas as pd

from .analysis import analyze_rows
from .api import semantics_of
from .boxes import normalise
from .pyramid import Pyramid
from .semantics import Semantics
from .stats import Accumulator
from .transforms import Resize


def summary_part(boxes, *, by: str | None = None, preset: str | None = None, head: str = "box", methods=None,
                 stride: float | None = None, pool=None, sampling_ratio: int | None = None,
                 sample_placement: str | None = None, arithmetic: str | None = None,
                 pyramid: Pyramid | None = None, resize: str | Resize | None = None, image_size=None,
                 semantics: Semantics | None = None) -> Accumulator:
    """Analyse one partition of boxes and keep what its summary needs (picklable, mergeable).

    Args:
        boxes: one partition, in any form :func:`roiloss.analyze` takes.
        by: ``None`` (per method) or ``"level"`` (per method and pyramid level).
        Other arguments as :func:`roiloss.analyze`.

    Returns:
        An :class:`~roiloss.stats.Accumulator`; pass a list of them to :func:`merge_summaries`.
    """
    resolved = semantics_of(semantics, preset=preset, head=head, methods=methods, stride=stride, pool=pool,
                            sampling_ratio=sampling_ratio, sample_placement=sample_placement,
                            arithmetic=arithmetic, pyramid=pyramid, resize=resize)
    part = Accumulator(by=by)
    table = normalise(boxes, image_size=image_size)
    if len(table):
        part.add(analyze_rows(table, resolved))
    return part


def merge_summaries(parts: Iterable[Accumulator]) -> pd.DataFrame:
    """The summary of all parts together: one row per method (and level), the columns of
    :func:`roiloss.summarize`. Order of the parts does not matter; the result is exact.

    Example:
        >>> a = summary_part([(0, 0, 40, 40)], stride=16, methods="roipool")
        >>> b = summary_part([(8, 8, 20, 30)], stride=16, methods="roipool")
        >>> merged = merge_summaries([a, b])
        >>> int(merged.boxes[0]), round(float(merged.lost_frac_mean[0]), 4)
        (2, 0.3939)
    """
    merged = None
    for part in parts:
        if merged is None:
            merged = Accumulator(by=part.by)
        merged.merge(part)
    return merged.summary() if merged is not None else Accumulator().summary()
