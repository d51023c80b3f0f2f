"""roiloss past one machine: analyze as a Dask partition function on a LocalCluster of processes,
summaries merged across partitions equal to the single-process run."""

import numpy as np
import pandas as pd
import pytest

import roiloss

import dask  # noqa: E402
import dask.dataframe as dd  # noqa: E402
from dask.distributed import Client, LocalCluster  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                           host="127.0.0.1")
    with Client(cluster) as client:
        yield client
    cluster.close()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """A directory of Parquet files, partitioned by image size, 6,000 boxes."""
    rng = np.random.default_rng(5)
    n = 6000
    w = rng.choice([640.0, 480.0, 500.0], n)
    h = rng.choice([480.0, 640.0, 375.0], n)
    bw = np.minimum(rng.lognormal(3.5, 1.0, n), w - 1).round(2)
    bh = np.minimum(rng.lognormal(3.5, 1.0, n), h - 1).round(2)
    x = (rng.uniform(0, 1, n) * (w - bw)).round(2)
    y = (rng.uniform(0, 1, n) * (h - bh)).round(2)
    frame = pd.DataFrame({"id": np.arange(n), "x1": x, "y1": y, "x2": x + bw, "y2": y + bh,
                          "image_width": w, "image_height": h})
    frame.loc[17, "x2"] = frame.loc[17, "x1"] - 1  # one invalid box travels too
    folder = tmp_path_factory.mktemp("boxes")
    for k, start in enumerate(range(0, n, n // 4)):
        frame.iloc[start:start + n // 4].to_parquet(folder / f"part-{k}.parquet", index=False)
    return folder, frame


def test_analyze_is_a_partition_function(client, dataset):
    folder, frame = dataset
    boxes = dd.read_parquet(str(folder))
    meta = roiloss.analyze(boxes._meta, preset="detectron2")
    rows = boxes.map_partitions(roiloss.analyze, preset="detectron2", meta=meta).compute()
    single = roiloss.analyze(frame, preset="detectron2")
    pd.testing.assert_frame_equal(rows.reset_index(drop=True)[single.columns].astype(single.dtypes),
                                  single, check_categorical=False)


@pytest.mark.parametrize("by", [None, "level"])
def test_summaries_merge_exactly(client, dataset, by):
    folder, frame = dataset
    boxes = dd.read_parquet(str(folder))
    parts = [dask.delayed(roiloss.summary_part)(p, by=by, preset="torchvision") for p in boxes.to_delayed()]
    computed = dask.compute(*parts)
    assert len(computed) == 4
    merged = roiloss.merge_summaries(computed[::-1])  # any order
    single = roiloss.summarize(roiloss.analyze(frame, preset="torchvision"), by=by)
    if by:
        single = single[single["level"].notna()]
        single["level"] = single["level"].astype(int)
        merged["level"] = merged["level"].astype(int)
    key = ["method"] + ([by] if by else [])
    merged = merged.sort_values(key).reset_index(drop=True)
    single = single.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(merged, single[merged.columns], check_dtype=False)
    assert int(merged["boxes"].sum()) == len(frame) - (1 if by else 0)  # an invalid box has no level
