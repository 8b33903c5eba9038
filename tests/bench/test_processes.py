"""Process identity: a record of host:pid:start tells a live process from a gone one."""

import os
import subprocess
import sys

import psutil

from bench.runtime.processes import process_identity, process_is_gone, this_process


def test_a_finished_process_is_gone_and_a_live_one_is_not():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        identity = process_identity(child.pid)
        assert not process_is_gone(identity)
    finally:
        child.kill()
        child.wait()
    assert process_is_gone(identity)
    assert not process_is_gone(this_process())


def test_a_reused_pid_is_a_different_process():
    host, pid, start = this_process().split(":")
    assert process_is_gone(f"{host}:{pid}:{float(start) + 1:.2f}")


def test_another_host_or_a_malformed_record_is_never_declared_gone():
    _, pid, start = this_process().split(":")
    assert not process_is_gone(f"elsewhere.example:{pid}:{start}")  # this host cannot tell
    assert not process_is_gone("garbage")
    assert not process_is_gone("")


def test_an_exited_process_not_yet_reaped_is_gone():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    identity = process_identity(child.pid)
    # Wait for the exit but leave the child unreaped: a zombie, whose pid still exists.
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
    try:
        assert psutil.Process(child.pid).status() == psutil.STATUS_ZOMBIE
        assert process_is_gone(identity)
    finally:
        child.wait()
