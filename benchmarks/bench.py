"""roiloss benchmark: generates its inputs, runs each scenario in a child process, prints one table.

    python benchmarks/bench.py              # full sizes (COCO-train-shaped JSON, 1 M and 16 M-row CSVs)
    python benchmarks/bench.py --smoke      # tiny sizes, seconds: CI runs this so the script cannot rot

Wall time and peak memory (the child's ``ru_maxrss`` from ``wait4``) are medians over ``--runs``
runs (the start-up scenarios, a fraction of a second each, take five times as many); each
scenario's ratio is to a baseline measured in the same run on the same file, the two run in turns
(scenario, baseline, scenario, ...) so that a drift of the machine's speed falls on both. Inputs
are generated deterministically under ``benchmarks/data/`` (git-ignored) and reused when present.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

HERE = Path(__file__).resolve().parent
FULL = {"images": 118_287, "annotations": 860_001, "csv": 1_000_000, "big_csv": 16_000_000, "engine": 1_000_000,
        "mask_images": 5_000, "mask_annotations": 36_781}  # masks: COCO val2017's counts
SMOKE = {"images": 200, "annotations": 1_500, "csv": 3_000, "big_csv": 20_000, "engine": 5_000,
         "mask_images": 40, "mask_annotations": 300}


# --- inputs --------------------------------------------------------------------------------------


def coco_boxes(rng, n, widths, heights):
    """COCO-like boxes: log-normal sizes, inside their images."""
    w = np.minimum(rng.lognormal(3.8, 1.1, n), widths - 1).round(2)
    h = np.minimum(rng.lognormal(3.8, 1.1, n), heights - 1).round(2)
    x = (rng.uniform(0, 1, n) * (widths - w)).round(2)
    y = (rng.uniform(0, 1, n) * (heights - h)).round(2)
    return x, y, w, h


def make_coco(path: Path, n_images: int, n_annotations: int) -> None:
    """A COCO-train-shaped file: images, annotations with ~28-point polygons, 80 categories."""
    rng = np.random.default_rng(2017)
    widths = rng.choice([640, 480, 500, 427, 612], n_images)
    heights = rng.choice([480, 640, 375, 333, 427], n_images)
    categories = [{"id": i + 1, "name": f"class{i + 1}", "supercategory": "thing"} for i in range(80)]
    with open(path, "wb") as out:
        out.write(b'{"info": {"description": "roiloss benchmark"}, "licenses": [], "images": ')
        images = [{"id": i + 1, "width": int(w), "height": int(h), "file_name": f"{i + 1:012d}.jpg"}
                  for i, (w, h) in enumerate(zip(widths, heights))]
        out.write(msgspec.json.encode(images))
        out.write(b', "annotations": [')
        batch = 50_000
        for start in range(0, n_annotations, batch):
            n = min(batch, n_annotations - start)
            image = rng.integers(0, n_images, n)
            x, y, w, h = coco_boxes(rng, n, widths[image].astype(float), heights[image].astype(float))
            angles = np.linspace(0, 2 * np.pi, 28, endpoint=False)
            px = (x[:, None] + w[:, None] * (0.5 + 0.5 * np.cos(angles))).round(2)
            py = (y[:, None] + h[:, None] * (0.5 + 0.5 * np.sin(angles))).round(2)
            polygons = np.stack([px, py], axis=2).reshape(n, -1).tolist()
            anns = [{"segmentation": [poly], "area": float(a), "iscrowd": 0, "image_id": int(i + 1),
                     "bbox": [float(a0), float(a1), float(a2), float(a3)], "category_id": int(c), "id": int(k)}
                    for poly, a, i, a0, a1, a2, a3, c, k in zip(
                        polygons, (w * h).round(2), image, x, y, w, h, rng.integers(1, 81, n),
                        range(start + 1, start + n + 1))]
            if start:
                out.write(b",")
            out.write(msgspec.json.encode(anns)[1:-1])
        out.write(b'], "categories": ')
        out.write(msgspec.json.encode(categories))
        out.write(b"}")


def make_csv(path: Path, rows: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    chunk = 1_000_000
    with pa_csv.CSVWriter(str(path), pa.schema([(c, pa.float64()) for c in ("x1", "y1", "x2", "y2")] +
                                               [("image_id", pa.int64()), ("category", pa.string()),
                                                ("image_width", pa.int64()), ("image_height", pa.int64())]),
                          write_options=pa_csv.WriteOptions(quoting_style="needed")) as writer:
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            widths = rng.choice([640, 480, 500, 1024], n)
            heights = rng.choice([480, 640, 375, 768], n)
            x, y, w, h = coco_boxes(rng, n, widths.astype(float), heights.astype(float))
            names = np.array(["person", "car", "chair", "book", "bottle", "cup", "dog", "bird"])
            writer.write_table(pa.table({"x1": x, "y1": y, "x2": (x + w).round(2), "y2": (y + h).round(2),
                                         "image_id": rng.integers(0, 10**6, n),
                                         "category": names[rng.integers(0, len(names), n)],
                                         "image_width": widths, "image_height": heights}))


def inputs(sizes: dict, folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    tag = f"{sizes['annotations']}"
    paths = {"coco": folder / f"train-{tag}.json", "csv": folder / f"boxes-{sizes['csv']}.csv",
             "big_csv": folder / f"boxes-{sizes['big_csv']}.csv",
             "masks": folder / f"val-masks-{sizes['mask_annotations']}.json"}
    makers = {"coco": lambda p: make_coco(p, sizes["images"], sizes["annotations"]),
              "masks": lambda p: make_coco(p, sizes["mask_images"], sizes["mask_annotations"]),
              "csv": lambda p: make_csv(p, sizes["csv"], 1),
              "big_csv": lambda p: make_csv(p, sizes["big_csv"], 16)}
    for name, path in paths.items():
        if not path.exists():
            started = time.perf_counter()
            temp = path.with_suffix(".tmp")
            makers[name](temp)
            temp.rename(path)
            print(f"generated {path.name} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.0f} s",
                  file=sys.stderr)
    return paths


# --- measuring -----------------------------------------------------------------------------------

ENGINE = """
import os, sys, time
sys.path.insert(0, {root!r})
from roiloss.allocator import tune_allocator
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the command line does, before numpy is imported
tune_allocator()
import numpy as np, pandas as pd
from roiloss.analysis import analyze_table, metric_arrays, model_boxes
from roiloss.semantics import resolve
rng = np.random.default_rng(7)
n = {n}
widths = rng.choice([640.0, 480.0, 500.0], n); heights = rng.choice([480.0, 640.0, 375.0], n)
w = np.minimum(rng.lognormal(3.8, 1.1, n), widths - 1); h = np.minimum(rng.lognormal(3.8, 1.1, n), heights - 1)
x = rng.uniform(0, 1, n) * (widths - w); y = rng.uniform(0, 1, n) * (heights - h)
table = pd.DataFrame({{"roi_id": np.arange(n), "image_id": 0, "category": None, "x1": x, "y1": y, "x2": x + w,
                      "y2": y + h, "image_width": widths, "image_height": heights, "invalid": ""}})
table["invalid"] = table["invalid"].astype(object)
semantics = resolve(stride=16, pool=7, sampling_ratio=2, methods={methods!r})
started = time.perf_counter()
if {function!r} == "metric_arrays":  # the engine alone: into the model's frame, then every metric
    metric_arrays(model_boxes(table, semantics), semantics.geometry, list(semantics.methods))
else:
    analyze_table(table, semantics)
print("SECONDS", time.perf_counter() - started)
"""


DECODE = """
import msgspec
class Ann(msgspec.Struct):
    id: int
    image_id: int
    category_id: int
    bbox: list[float]
class Image(msgspec.Struct):
    id: int
    width: int
    height: int
class Coco(msgspec.Struct):
    annotations: list[Ann]
    images: list[Image]
msgspec.json.decode(open({path!r}, "rb").read(), type=Coco)
"""

WRITE = """
import sys, time
sys.path.insert(0, {root!r})
import pyarrow as pa, pyarrow.csv as c
from roiloss.analysis import analyze_rows, rows_arrow
from roiloss.readers import read_boxes
from roiloss.semantics import resolve
table = rows_arrow(analyze_rows(read_boxes({path!r}), resolve()))  # the same 3 M rows roiloss writes
pa.set_cpu_count(1); pa.set_io_thread_count(1)
started = time.perf_counter()
c.write_csv(table, {out!r}, c.WriteOptions(quoting_style="needed"))
print("SECONDS", time.perf_counter() - started)
"""

PEAK = HERE / "peak.py"


def timed(commands: list[list[str]], runs: int) -> list[tuple[float, float]]:
    """Run each command ``runs`` times under ``peak.py``, the commands in turns; per command the
    median wall seconds and the median peak RSS (MB)."""
    times, peaks = [[] for _ in commands], [[] for _ in commands]
    for _ in range(runs):
        for command, seconds, peak in zip(commands, times, peaks):
            result = subprocess.run([sys.executable, str(PEAK), *command], capture_output=True)
            if result.returncode != 0:
                raise SystemExit(f"benchmark child failed: {' '.join(command)}\n{result.stderr.decode()[-2000:]}")
            fields = dict(line.split(" ", 1) for line in result.stdout.decode().splitlines()
                          if line[:5] in ("WALL ", "PEAK ", "SECON"))
            seconds.append(float(fields.get("SECONDS", fields["WALL"])))
            peak.append(float(fields["PEAK"]))
    return [(statistics.median(t), statistics.median(p)) for t, p in zip(times, peaks)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (CI)")
    parser.add_argument("--runs", type=int, default=None, help="runs per scenario (default 3, smoke 1)")
    parser.add_argument("--data", type=Path, default=HERE / "data")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]  # before anything of the bench runs
    sizes = SMOKE if args.smoke else FULL
    runs = args.runs or (1 if args.smoke else 3)
    paths = inputs(sizes, args.data / ("smoke" if args.smoke else "full"))
    root = str(HERE.parent)
    py = sys.executable
    roiloss = [py, "-m", "roiloss"]
    out_csv = args.data / "out.csv"
    rows = []

    def scenario(name, command, target, baseline=None, ratio_target=None, memory_target=None, boxes=None,
                 repeat=1):
        (seconds, peak), *rest = timed([command] + ([baseline] if baseline else []), runs * repeat)
        base = rest[0][0] if rest else None
        ratio = seconds / base if base else None
        ok = True
        if target is not None and seconds > target:
            ok = False
        if ratio_target is not None and ratio is not None and ratio > ratio_target:
            ok = False
        if memory_target is not None and peak > memory_target:
            ok = False
        rows.append((name, seconds, peak, boxes / seconds if boxes else None, base, ratio,
                     _target_text(target, ratio_target, memory_target), "yes" if ok else "NO"))
        print(f"  {name}: {seconds:.2f} s, {peak:.0f} MB", file=sys.stderr)

    n = sizes["engine"]
    three = ["roipool", "roiwarp", "roialign"]
    five = ["roipool", "roipool-floor", "roiwarp", "roialign", "roialign-legacy"]
    full = not args.smoke

    def engine(function, methods):
        return [py, "-c", ENGINE.format(root=root, n=n, methods=methods, function=function)]

    # an installed wheel carries its modules compiled; an editable checkout (or PYTHONDONTWRITEBYTECODE)
    # would compile roiloss's 80 modules at every start: compile them once, as pip does on install
    subprocess.run([py, "-m", "compileall", "-q", str(HERE.parent / "roiloss")], check=True)
    numpy_start = [py, "-c", "import numpy"]
    scenario("start-up: roiloss --version", roiloss + ["--version"], 0.25 if full else None,
             baseline=numpy_start, ratio_target=2 if full else None, repeat=5)
    ten = args.data / "ten.csv"
    ten.write_text("x1,y1,x2,y2\n" + "".join(f"{i},{i},{i + 40},{i + 30}\n" for i in range(10)))
    scenario("start-up: analyze 10 boxes", roiloss + ["analyze", str(ten)], 0.45 if full else None,
             baseline=numpy_start, ratio_target=2 if full else None, repeat=5)
    scenario(f"engine: metrics of {n:,} boxes x 3 methods", engine("metric_arrays", three),
             0.8 if full else None, boxes=n)
    scenario(f"engine: metrics of {n:,} boxes x 5 methods", engine("metric_arrays", five), None, boxes=n)
    scenario(f"analyze(): DataFrame of {n:,} boxes x 3 methods", engine("analyze_table", three), None, boxes=n)
    decode = [py, "-c", DECODE.format(path=str(paths["coco"]))]
    load = [py, "-c", f"import json; json.load(open({str(paths['coco'])!r}))"]
    coco_table = roiloss + ["analyze", str(paths["coco"]), "--format", "table"]
    scenario(f"COCO-shaped JSON ({sizes['annotations']:,} boxes) -> table vs msgspec decode",
             coco_table, None, baseline=decode, ratio_target=1.5 if full else None,
             memory_target=1500 if full else None, boxes=sizes["annotations"])
    scenario(f"COCO-shaped JSON ({sizes['annotations']:,} boxes) -> table vs json.load",
             coco_table, None, baseline=load, ratio_target=0.15 if full else None, boxes=sizes["annotations"])
    read = [py, "-c", f"import pyarrow.csv as c; c.read_csv({str(paths['csv'])!r})"]
    scenario(f"{sizes['csv']:,}-row CSV -> table", roiloss + ["analyze", str(paths["csv"]), "--format", "table"],
             2.0 if full else None, baseline=read, ratio_target=4 if full else None, boxes=sizes["csv"])
    write = [py, "-c", WRITE.format(root=root, path=str(paths["csv"]), out=str(out_csv))]
    scenario(f"{sizes['csv']:,}-row CSV -> {3 * sizes['csv']:,}-row CSV vs Arrow write_csv",
             roiloss + ["analyze", str(paths["csv"]), "--format", "csv", "-o", str(out_csv)], None,
             baseline=write, ratio_target=1.0 if full else None, boxes=sizes["csv"])
    scenario(f"{sizes['big_csv']:,}-row CSV -> table",
             roiloss + ["analyze", str(paths["big_csv"]), "--format", "table"], None,
             memory_target=1200 if full else None, boxes=sizes["big_csv"])
    # the mask ceiling (docs/semantics.md §12): COCO-val-sized instances with polygons, three methods
    scenario(f"masks: {sizes['mask_annotations']:,} instances (COCO val-sized) x 3 methods -> CSV",
             roiloss + ["masks", str(paths["masks"]), "--format", "csv", "-o", str(out_csv)],
             60 if full else None, boxes=sizes["mask_annotations"])
    out_csv.unlink(missing_ok=True)
    ten.unlink(missing_ok=True)
    print_table(rows, runs, load_before)
    if not args.smoke and any(r[-1] == "NO" for r in rows):
        sys.exit(1)


def _target_text(seconds, ratio, memory) -> str:
    parts = []
    if seconds is not None:
        parts.append(f"<= {seconds:g} s")
    if ratio is not None:
        parts.append(f"<= {ratio:g} x baseline")
    if memory is not None:
        parts.append(f"<= {memory / 1000:g} GB")
    return ", ".join(parts) or "-"


def print_table(rows, runs, load_before: float) -> None:
    print(f"roiloss benchmark | {platform.machine()} | {os.cpu_count()} cores | Python {platform.python_version()} | "
          f"median of {runs} run(s), {5 * runs} for start-up | load average {load_before:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after")
    header = ["scenario", "wall s", "peak MB", "boxes/s", "baseline s", "ratio", "target", "met"]
    table = [header] + [[r[0], f"{r[1]:.2f}", f"{r[2]:.0f}", f"{r[3]:,.0f}" if r[3] else "-",
                         f"{r[4]:.2f}" if r[4] else "-", f"{r[5]:.2f}" if r[5] else "-", r[6], r[7]] for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for i, row in enumerate(table):
        print("| " + " | ".join(cell.ljust(widths[j]) for j, cell in enumerate(row)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


if __name__ == "__main__":
    main()
