"""``gateway.placement``: a gateway process's threads kept on one core, its scan helpers on the others
(``listen.cpu_pinning``). Run in
child processes: pinning the test runner itself would slow the rest of the suite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, os, sys, threading
from gateway.placement import pin_process
if len(sys.argv) > 2:  # start on one core only
    os.sched_setaffinity(0, {int(sys.argv[2])})
before = threading.Event(); stop = threading.Event()
t = threading.Thread(target=lambda: (before.set(), stop.wait())); t.start(); before.wait()
import subprocess
helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
core = pin_process(int(sys.argv[1]), [helper.pid])
helper_cores = sorted(os.sched_getaffinity(helper.pid)); helper.kill(); helper.wait()
later = []
u = threading.Thread(target=lambda: later.append(sorted(os.sched_getaffinity(0)))); u.start(); u.join()
threads = {int(x): sorted(os.sched_getaffinity(int(x))) for x in os.listdir("/proc/self/task")}
stop.set(); t.join()
print(json.dumps({"core": core, "threads": list(threads.values()), "later": later[0], "helper": helper_cores}))
"""


def run(*args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, *args], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


CORES = sorted(os.sched_getaffinity(0))


@pytest.mark.skipif(len(CORES) < 2, reason="needs two usable cores")
def test_every_thread_and_those_started_later_are_kept_on_the_workers_core():
    for worker in (0, 1, len(CORES)):  # the worker-th core, cycling
        got = run(str(worker))
        core = CORES[worker % len(CORES)]
        assert got["core"] == core
        assert len(got["threads"]) >= 2 and all(t == [core] for t in got["threads"])  # one started before, too
        assert got["later"] == [core]
        assert got["helper"] == [c for c in CORES if c != core]  # a scan helper: every other core


def test_a_process_with_one_core_is_left_as_it_is():
    got = run("1", str(CORES[-1]))
    assert got["core"] is None and all(t == [CORES[-1]] for t in got["threads"]) and got["later"] == [CORES[-1]]
    assert got["helper"] == [CORES[-1]]  # left as it was (it inherited the one core)
