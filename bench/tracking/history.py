"""What the store already holds, read back: runs as records, metric histories, artifact
bytes; and a finished report logged on a run.

``bench compare`` and ``bench report`` only read, so nothing here creates a store: a
folder without one is a user's mistake, answered in one line.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
from mlflow.entities import ViewType
from mlflow.tracking import MlflowClient

from bench.errors import UsageError
from bench.tracking import vocabulary
from bench.tracking.store import absolute_uri, open_client, tracking_uri

_SQLITE = "sqlite:///"
_PAGE = 1000  # runs per search request (MLflow's largest page on every store)


@dataclass(frozen=True)
class RunRecord:
    """One MLflow run as ``bench compare`` reads it.

    Parameters
    ----------
    run_id, name, experiment, status : str
        The run's id, its run name, the name of its experiment and its MLflow status.
    start_time : int
        When it started, in milliseconds since the epoch (MLflow's unit).
    tags, params : dict of str to str
    metrics : dict of str to float
        The last value of each metric.
    """

    run_id: str
    name: str
    experiment: str
    status: str
    start_time: int
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def parent_id(self) -> str:
        """The run this one is a child of (a study's parent, a repeats parent), or ``""``."""
        return self.tags.get(vocabulary.PARENT, "")


def open_store(uri: str | None = None) -> MlflowClient:
    """A client on an existing store (default :func:`~bench.tracking.store.tracking_uri`).

    Raises
    ------
    UsageError
        If ``uri`` is a local SQLite store that does not exist yet.
    TrackingError
        If ``uri`` is a tracking server that does not answer.
    """
    uri = uri or tracking_uri()
    if uri.startswith(_SQLITE):
        database = Path(absolute_uri(uri).removeprefix(_SQLITE))
        if not database.is_file():
            raise UsageError(
                f"no MLflow store at {database}; run `python -m bench run NAME` here first, "
                "or run this command in the folder where you ran bench"
            )
    return open_client(uri)


def experiment_names(client: MlflowClient) -> list[str]:
    """The names of the store's experiments, oldest first."""
    experiments = client.search_experiments(order_by=["creation_time ASC"])
    return [experiment.name for experiment in experiments]


def experiment_runs(
    client: MlflowClient, names: Sequence[str] | None = None
) -> dict[str, list[RunRecord]]:
    """Every run of each experiment in ``names`` (default: all of them), newest first.

    Raises
    ------
    UsageError
        If a name is not an experiment of the store; the message lists those there are.
    """
    known = experiment_names(client)
    names = list(names) if names else known
    for name in names:
        if name not in known:
            there = ", ".join(f"'{each}'" for each in known) or "none"
            raise UsageError(
                f"no experiment '{name}' in the MLflow store {absolute_uri(client.tracking_uri)};"
                f" experiments: {there}"
            )
    found = {}
    for name in names:
        experiment = client.get_experiment_by_name(name)
        assert experiment is not None  # a known name, checked above
        found[name] = _search(client, [experiment.experiment_id], {experiment.experiment_id: name})
    return found


def runs_and_children(client: MlflowClient, run_ids: Iterable[str]) -> list[RunRecord]:
    """The runs ``run_ids`` and their children (a repeats parent's seeds, a study's
    trials and refits), each once.

    Raises
    ------
    UsageError
        If a run id is not in the store.
    """
    records: dict[str, RunRecord] = {}
    names: dict[str, str] = {}
    for run_id in run_ids:
        try:
            run = client.get_run(run_id)
        except mlflow.exceptions.MlflowException:
            raise UsageError(
                f"no run {run_id} in the MLflow store {absolute_uri(client.tracking_uri)}; "
                "copy a run id from `bench run`'s summary or the MLflow UI, or name an "
                "experiment instead"
            ) from None
        experiment = run.info.experiment_id
        if experiment not in names:
            names[experiment] = client.get_experiment(experiment).name
        records[run_id] = _record(run, names[experiment])
        children = _search(
            client, [experiment], names, filter_string=f"tags.`{vocabulary.PARENT}` = '{run_id}'"
        )
        records.update((child.run_id, child) for child in children)
    return list(records.values())


def metric_history(client: MlflowClient, run_id: str, key: str) -> list[tuple[int, float]]:
    """``(step, value)`` of every value of metric ``key`` the run logged (per epoch, for
    the curves), in step order; empty if it logged none."""
    values = client.get_metric_history(run_id, key)
    return sorted((metric.step, metric.value) for metric in values)


def artifact_bytes(client: MlflowClient, run_id: str, path: str) -> bytes | None:
    """The content of the run's artifact ``path``, or ``None`` if it has none there."""
    folder = str(Path(path).parent) if Path(path).parent != Path(".") else None
    listed = {artifact.path for artifact in client.list_artifacts(run_id, folder)}
    if path not in listed:
        return None
    # MLflow hands artifacts out as files only; the copy lives as long as this call.
    with tempfile.TemporaryDirectory(prefix="bench-artifact-") as folder_copy:
        return Path(client.download_artifacts(run_id, path, folder_copy)).read_bytes()


def log_report(client: MlflowClient, run_id: str, html: str, path: str = "report.html") -> None:
    """Save the report ``html`` as the run's artifact ``path``."""
    client.log_text(run_id, html, path)


def _search(
    client: MlflowClient,
    experiment_ids: list[str],
    names: dict[str, str],
    filter_string: str = "",
) -> list[RunRecord]:
    records, token = [], None
    while True:
        page = client.search_runs(
            experiment_ids,
            filter_string=filter_string,
            run_view_type=ViewType.ACTIVE_ONLY,
            max_results=_PAGE,
            order_by=["attributes.start_time DESC"],
            page_token=token,
        )
        records += [_record(run, names[run.info.experiment_id]) for run in page]
        token = page.token
        if not token:
            return records


def _record(run, experiment: str) -> RunRecord:
    return RunRecord(
        run_id=run.info.run_id,
        name=run.info.run_name or "",
        experiment=experiment,
        status=run.info.status,
        start_time=run.info.start_time or 0,
        tags=dict(run.data.tags),
        params=dict(run.data.params),
        metrics=dict(run.data.metrics),
    )
