"""Run a command; print its wall time (WALL s), peak resident memory (PEAK MB) and any SECONDS line it printed."""

import os
import subprocess
import sys
import time

started = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
out = child.stdout.read()
err = child.stderr.read()
_, status, usage = os.wait4(child.pid, 0)
wall = time.perf_counter() - started
code = os.waitstatus_to_exitcode(status)
if code not in (0, 1):
    sys.stderr.write(err.decode(errors="replace"))
    sys.exit(code or 1)
for line in out.decode(errors="replace").splitlines():
    if line.startswith("SECONDS "):
        print(line)
print(f"WALL {wall}")
print(f"PEAK {usage.ru_maxrss / 1024}")  # Linux reports kilobytes
