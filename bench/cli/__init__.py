"""The command line: argument parsing, the sub-commands, and what they print.

- :mod:`~bench.cli.parser`: the arguments (light: ``--help`` is instant);
- :mod:`~bench.cli.commands`: each sub-command, calling the layers below;
- :mod:`~bench.cli.comparing`: ``bench compare`` and ``bench report``;
- :mod:`~bench.cli.orphans`: closing, and naming, runs whose process is gone;
- :mod:`~bench.cli.summaries`: the tables printed at the end;
- :mod:`~bench.cli.progress`: epoch and trial progress on stderr.

A :class:`~bench.errors.BenchError` is caught once, here, and shown as one line.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from bench.cli.commands import dispatch, say
from bench.cli.parser import build_parser
from bench.errors import BenchError, RunInterrupted
from bench.runtime.interrupts import exit_code_for, signals_as_interrupts


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m bench``; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        with signals_as_interrupts():
            return dispatch(build_parser().parse_args(argv), argv)
    except RunInterrupted as stop:
        code, word = exit_code_for(stop)
        say(
            f"{word}: run {stop.run_id} closed as KILLED after {stop.epochs_done} "
            f"epoch(s); its metrics so far are in MLflow"
        )
        return code
    except KeyboardInterrupt as stop:
        code, word = exit_code_for(stop)
        say(word)
        return code
    except BenchError as error:
        say(f"bench: error: {error}")
        return error.exit_code
    except BrokenPipeError:
        # The reader went away (`bench list | head`): not an error. Python would try to
        # flush stdout again at exit and complain, so stdout goes nowhere from here on.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
