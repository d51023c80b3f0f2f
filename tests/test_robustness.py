"""Real use: paths that are links, devices, pipes and FIFOs; signals and closed pipes; broken config
files; option values that make no sense. Each case here was once a crash or a silent misreading."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import EXAMPLE, EXAMPLE_BOXES, invoke, parse_output

ROILOSS = str(Path(sys.executable).parent / "roiloss")
ENV = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1"}


def roiloss(*args, **kwargs):
    return subprocess.run([ROILOSS, *map(str, args)], capture_output=True, text=True, env=ENV, timeout=60, **kwargs)


def test_output_through_a_symlink_replaces_the_target_and_keeps_the_link(tmp_path):
    target = tmp_path / "real.csv"
    target.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    assert invoke("analyze", EXAMPLE, "--format", "csv", "-o", link).exit_code == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert len(parse_output(target.read_text(), "csv")) == EXAMPLE_BOXES * 3


def test_dev_stdout_is_streamed_not_replaced():
    done = roiloss("analyze", EXAMPLE, "--format", "csv", "-o", "/dev/stdout")
    assert done.returncode == 0 and len(parse_output(done.stdout, "csv")) == EXAMPLE_BOXES * 3
    assert Path("/dev/stdout").is_symlink() or Path("/dev/stdout").exists()


def test_process_substitution_and_fifo_are_read_once(tmp_path):
    done = subprocess.run(["bash", "-c", f"{ROILOSS} analyze <(cat {EXAMPLE}) --format csv"],
                          capture_output=True, text=True, env=ENV, timeout=60)
    assert done.returncode == 0, done.stderr
    assert len(parse_output(done.stdout, "csv")) == EXAMPLE_BOXES * 3
    fifo = tmp_path / "boxes.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(EXAMPLE.read_bytes()))
    writer.start()
    done = roiloss("analyze", fifo, "--format", "csv")
    writer.join(timeout=10)
    assert done.returncode == 0, done.stderr
    assert len(parse_output(done.stdout, "csv")) == EXAMPLE_BOXES * 3


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "jsonl"])
def test_a_closed_pipe_is_a_quiet_exit_0(fmt):
    done = subprocess.run(["bash", "-c", f"set -o pipefail; {ROILOSS} analyze {EXAMPLE} --methods all --rows 500 "
                                         f"--format {fmt} | head -c 10 > /dev/null"],
                          capture_output=True, text=True, env=ENV, timeout=60)
    assert done.returncode == 0 and done.stderr == "", done.stderr


def test_ctrl_c_exits_130_with_one_line_and_no_partial_file(tmp_path):
    big = tmp_path / "big.csv"
    with big.open("w") as stream:
        stream.write("x1,y1,x2,y2\n")
        stream.writelines("10,20,300,400\n" for _ in range(600_000))
    out = tmp_path / "out.csv"
    # a shell's background job inherits SIGINT ignored (so a terminal's Ctrl-C spares it): a user's
    # command line does not, so the child gets the default disposition back
    process = subprocess.Popen([ROILOSS, "analyze", big, "--format", "csv", "-o", out], env=ENV,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(1.5)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert stderr.strip() == "roiloss: interrupted"
    assert not out.exists() and not list(tmp_path.glob(".out.csv.*"))


def test_a_broken_pyproject_is_an_error_naming_line_and_column(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nversion = 1.0.0\n[tool.roiloss]\nstride = 8\n')
    result = invoke("audit", EXAMPLE, cwd=tmp_path)
    assert result.exit_code == 2
    assert "pyproject.toml: not valid TOML" in result.stderr and "line 2, column" in result.stderr


def test_an_unknown_setting_names_the_closest_one(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.roiloss]\nstrid = 8\n')
    result = invoke("analyze", EXAMPLE, cwd=tmp_path)
    assert result.exit_code == 2 and "'strid'" in result.stderr and "did you mean 'stride'" in result.stderr
    (tmp_path / "pyproject.toml").write_text('[tool.roiloss.audti]\ncheck = "x"\n')
    result = invoke("audit", EXAMPLE, cwd=tmp_path)
    assert result.exit_code == 2 and "[tool.roiloss.audti] is not a command" in result.stderr


@pytest.mark.parametrize("args,message", [
    (["--levels", "5-2"], "low to high"),
    (["--levels", "2-70"], "from 0 to 16"),
    (["--strides", "8,12"], "powers of two"),
    (["--canonical-scale", "0"], "canonical-scale"),
    (["--canonical-scale", "-5"], "canonical-scale"),
    (["--strides", "8,16", "--stride", "16"], "not both"),
    (["--stride", "1e-300"], "between 0.001 and 1e6"),
    (["--pool", "100000"], "between 1 and 256"),
    (["--pool", "3x"], "pool"),
    (["--image-size", "640"], "WxH"),
    (["--resize", "bilinear"], "resize must be one of"),
    (["--min-size", "640"], "needs a resize rule"),
    (["--methods", "roialgin"], "unknown method roialgin"),
])
def test_option_values_that_make_no_sense_are_usage_errors(args, message):
    result = invoke("analyze", EXAMPLE, *args)
    assert result.exit_code == 2 and message in result.stderr, result.stderr
    assert "Traceback" not in result.output


def test_audit_option_ranges():
    result = invoke("audit", EXAMPLE, "--max-invalid-share", "2")
    assert result.exit_code == 2 and "--max-invalid-share" in result.stderr


def test_a_table_into_a_machine_file_name_is_refused(tmp_path):
    result = invoke("analyze", EXAMPLE, "-o", tmp_path / "out.json")
    assert result.exit_code == 2 and "--format json" in result.stderr
    assert not (tmp_path / "out.json").exists()


def test_grid_caps_the_terminal_listing_and_streams_machine_output():
    shown = invoke("grid", EXAMPLE, "--detail", "samples", "--rows", "7", env={"COLUMNS": "80"})
    assert shown.exit_code == 0 and "more rows not shown" in shown.stdout
    body = [line for line in shown.stdout.splitlines() if line.strip()[:1].isdigit() and "," in line]
    assert len(body) == 7
    full = parse_output(invoke("grid", EXAMPLE, "--detail", "samples", "--format", "csv").stdout, "csv")
    assert len(full) > 1000
