"""Thread pools shared out between worker processes (``bench study --jobs``)."""

import os
import subprocess
import sys

import psutil
import pytest

from bench.runtime.backend import available_memory, usable_cores


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


def test_a_slurm_task_keeps_to_the_cores_it_was_granted():
    # SLURM without CPU binding leaves the affinity at the whole node: a task granted one
    # core must not run one framework thread per core of the node.
    if usable_cores() < 2:
        pytest.skip("needs a machine with two cores to grant one")
    assert threads_after_share(1, {"SLURM_CPUS_PER_TASK": "1"})[:2] == ["1", "1"]
    assert threads_after_share(1, {"SLURM_CPUS_PER_TASK": "64"})[:2] == [
        str(usable_cores()),
        "None",
    ]


def test_a_slurm_task_runs_as_many_trials_as_its_cores_and_memory_allow(monkeypatch):
    from bench.runtime.backend import machine_jobs

    monkeypatch.delenv("BENCH_JOBS", raising=False)
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "1")
    assert machine_jobs() == 1
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "8")
    monkeypatch.setenv("SLURM_MEM_PER_NODE", "2000")  # megabytes: one 1.5 GiB trial
    assert machine_jobs() == 1
    monkeypatch.delenv("SLURM_MEM_PER_NODE")
    if usable_cores() >= 2:  # two cores at 800 MB each: still one trial's memory
        monkeypatch.setenv("SLURM_CPUS_PER_TASK", "2")
        monkeypatch.setenv("SLURM_MEM_PER_CPU", "800")
        assert available_memory() == min(psutil.virtual_memory().available, 1600 * 2**20)
        assert machine_jobs() == 1
