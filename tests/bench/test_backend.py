"""Thread pools shared out between worker processes (``bench study --jobs``)."""

import os
import subprocess
import sys

from bench.runtime.backend import usable_cores


def threads_after_share(workers, env=None):
    code = (
        "import os; from bench.runtime.backend import share_cores; "
        f"t = share_cores({workers}); "
        "get = os.environ.get; "
        "print(t, get('TF_NUM_INTRAOP_THREADS'), get('TF_NUM_INTEROP_THREADS'))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TF_NUM_")}
    done = subprocess.run(
        [sys.executable, "-c", code], env={**clean, **(env or {})}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_one_worker_leaves_the_frameworks_defaults():
    assert threads_after_share(1) == [str(usable_cores()), "None", "None"]


def test_two_workers_each_get_half_the_cores():
    threads = str(max(1, usable_cores() // 2))
    assert threads_after_share(2) == [threads, threads, "2"]


def test_a_users_own_setting_wins():
    assert threads_after_share(2, {"TF_NUM_INTRAOP_THREADS": "3"})[1] == "3"
