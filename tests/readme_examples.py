"""The README's examples: every fenced block that starts with ``$ roiloss ...`` is run from the
repository root at 80 columns without colour, and its output must be the rest of the block.

``python tests/readme_examples.py --update`` rewrites the outputs in README.md (after a change
that moves them, read the diff: it is the user-visible change).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BLOCK = re.compile(r"```\n(\$ roiloss .*?)```", re.S)
ENV = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1", "CI": "1"}


def examples(text: str) -> list[tuple[str, str, tuple[int, int]]]:
    """``(command, expected output, span of the block's body)`` for each example block."""
    out = []
    for match in BLOCK.finditer(text):
        body = match.group(1)
        lines = body.splitlines()
        command_lines = [lines[0]]
        while command_lines[-1].endswith("\\"):
            command_lines.append(lines[len(command_lines)])
        command = " ".join(line.rstrip("\\").strip() for line in command_lines)[2:]
        expected = "\n".join(lines[len(command_lines):])
        out.append((command, expected, match.span(1)))
    return out


def run(command: str) -> str:
    """The command's stdout (and, after a ``2>&1``, stderr), trailing spaces stripped."""
    merge = command.endswith("2>&1")
    args = shlex.split(command.removesuffix("2>&1").strip())
    args[0] = str(Path(sys.executable).parent / "roiloss")
    done = subprocess.run(args, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120)
    text = done.stdout + (done.stderr if merge else "")
    return "\n".join(line.rstrip() for line in text.splitlines()).strip("\n")


def update() -> None:
    text = README.read_text()
    for command, expected, (start, end) in reversed(examples(text)):
        body = text[start:end]
        head = body.splitlines()
        n = 1
        while head[n - 1].endswith("\\"):
            n += 1
        text = text[:start] + "\n".join(head[:n]) + "\n" + run(command) + "\n" + text[end:]
    README.write_text(text)


if __name__ == "__main__":
    if "--update" in sys.argv:
        update()
    else:
        for command, expected, _ in examples(README.read_text()):
            print(command, "ok" if run(command) == expected.rstrip("\n") else "DIFFERS")
