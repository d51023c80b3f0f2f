"""The benchmark runs end to end at tiny sizes, so it cannot rot (no timing is asserted)."""

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench.py"


def test_benchmark_smoke_run_prints_every_scenario(tmp_path):
    result = subprocess.run([sys.executable, str(BENCH), "--smoke", "--data", str(tmp_path)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    assert lines[0].split("|")[1].strip() == "scenario"
    scenarios = [line.split("|")[1].strip() for line in lines[1:]]
    for expected in ("start-up: roiloss --version", "start-up: analyze 10 boxes", "engine: metrics of",
                     "-> table vs msgspec decode", "-> table vs json.load", "-row CSV vs Arrow write_csv"):
        assert any(expected in s for s in scenarios), (expected, scenarios)
    for line in lines[1:]:
        wall, peak = (float(cell) for cell in line.split("|")[2:4])
        assert wall > 0 and peak > 0
    assert (tmp_path / "smoke").is_dir() and not (tmp_path / "out.csv").exists()
