"""Runs left RUNNING by a process of this machine that is gone, closed before a
command shows the store (``bench ui``, ``compare``, ``report``), and said which."""

from __future__ import annotations

import sys


def close_orphans(client) -> None:
    """Close as FAILED the runs, in every experiment, still RUNNING whose process on
    this machine is gone (killed, or the machine restarted), as the next ``bench run``
    of their experiment would, so that nothing shows them running for ever; and say
    which, in one line on stderr."""
    from bench.tracking.runs import close_orphaned_runs

    closed = close_orphaned_runs(client, None)
    if not closed:
        return
    names: dict[str, str] = {}
    described = []
    for run_id in closed:
        run = client.get_run(run_id)
        experiment = run.info.experiment_id
        if experiment not in names:
            names[experiment] = client.get_experiment(experiment).name
        described.append(f"{run_id} ({run.info.run_name}, in '{names[experiment]}')")
    runs = "run" if len(closed) == 1 else "runs"
    print(
        f"closed as FAILED {len(closed)} {runs} whose process on this machine is gone "
        f"(killed?): {'; '.join(described)}",
        file=sys.stderr,
    )
