"""``bench report``: one experiment as a single HTML file a teacher can hand out.

The file stands alone: every picture is inside it as a ``data:`` URI, and it loads no
script, stylesheet or image from anywhere. When the experiment holds a study, the
report is also logged on the study's (latest) parent run.
"""

from __future__ import annotations

import base64
import datetime
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.figure import Figure

from bench.benchmarks import benchmark_names, get_benchmark
from bench.errors import UsageError
from bench.figures import seed_curves_figure
from bench.tracking import vocabulary as tags
from bench.tracking.history import (
    RunRecord,
    artifact_bytes,
    experiment_runs,
    log_report,
    metric_history,
    open_store,
)
from bench.use_cases.compare import (
    ALPHA,
    Comparison,
    Configuration,
    chosen_pair,
    compare_runs,
    is_study_parent,
    left_out_text,
    paired_test,
    render,
    run_seed,
    seed_key,
    seed_ranges,
    sorted_seeds,
)

CURVE_METRIC = "val_accuracy"
MAX_CURVES = 6  # configurations with learning curves, best first
MAX_CONFUSION = 3  # confusion matrices, of the best run of the best configurations
STUDY_PLOTS = {
    "plots/optimization_history.png": "Optimisation history: each trial's validation "
    "accuracy, in the order the trials ran; a pruned trial at the last value it reported "
    "before the pruner stopped it.",
    "plots/best_so_far.png": "The best validation accuracy found so far, against time.",
    "plots/param_importances.png": "Parameter importances: how much of the change in "
    "validation accuracy each searched parameter explains (fANOVA over the complete "
    "trials, as many as its title says).",
}
# What a study logs instead of a plot it had too few trials for: one line, shown in the
# plot's place.
_NOTE_SUFFIX = ".txt"
_PNG = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Picture:
    """A PNG for the report, with what it shows."""

    png: bytes
    caption: str


@dataclass(frozen=True)
class Handout:
    """A rendered report: its HTML, the comparison it shows and the study parent run it
    was logged on (``""`` when the experiment holds no study)."""

    html: str
    comparison: Comparison
    logged_on: str = ""


def experiment_report(experiment: str) -> Handout:
    """Read ``experiment`` from the store, render its report and log it on the study's
    latest parent run, if it holds a study.

    Raises
    ------
    UsageError
        If the store or the experiment does not exist, or the experiment has neither
        scored runs nor a study.
    """
    client = open_store()
    records = experiment_runs(client, [experiment])[experiment]
    comparison = compare_runs(records)
    study = latest_study_parent(records)
    if not comparison.configurations and study is None:
        raise UsageError(
            f"experiment '{experiment}' has no scored runs and no study: nothing to report; "
            f"`python -m bench compare` lists what the store holds"
        )
    curves = seed_curves(client, comparison.configurations[:MAX_CURVES])
    confusion = best_confusion_matrices(client, comparison.configurations[:MAX_CONFUSION])
    plots = study_plots(client, study) if study is not None else []
    text = report_html(experiment, records, comparison, curves, confusion, study, plots)
    if study is not None:
        log_report(client, study.run_id, text)
    return Handout(text, comparison, study.run_id if study else "")


def seed_curves(
    client, configurations: Sequence[Configuration]
) -> dict[int, dict[str, list[tuple[int, float]]]]:
    """Row number -> seed -> ``(epoch, val_accuracy)`` of each run of each configuration."""
    return {
        rank: {
            _curve_label(run, configuration): metric_history(client, run.run_id, CURVE_METRIC)
            for run in sorted(configuration.runs, key=lambda run: seed_key(run_seed(run)))
        }
        for rank, configuration in enumerate(configurations, start=1)
    }


def best_confusion_matrices(client, configurations: Sequence[Configuration]) -> list[Picture]:
    """The logged confusion matrix of each configuration's best run, where it has one."""
    pictures = []
    for rank, configuration in enumerate(configurations, start=1):
        best = max(configuration.runs, key=lambda run: run.metrics["test_accuracy"])
        png = artifact_bytes(client, best.run_id, "confusion_matrix.png")
        if png is not None:
            caption = (
                f"#{rank} {configuration.benchmark}, seed {run_seed(best)} (run {best.run_id}): "
                f"test accuracy {best.metrics['test_accuracy']:.4f}"
            )
            pictures.append(Picture(png, caption))
    return pictures


def study_plots(client, study: RunRecord) -> list[Picture | str]:
    """The plots of :data:`STUDY_PLOTS` the study's parent run logged, in order; in
    place of one left out, the line the study logged to say why (``.txt``)."""
    shown: list[Picture | str] = []
    for path, caption in STUDY_PLOTS.items():
        png = artifact_bytes(client, study.run_id, path)
        if png is not None:
            shown.append(Picture(png, caption))
            continue
        note = artifact_bytes(client, study.run_id, path.removesuffix(".png") + _NOTE_SUFFIX)
        if note is not None:
            shown.append(note.decode("utf-8").strip())
    return shown


def latest_study_parent(records: Sequence[RunRecord]) -> RunRecord | None:
    """The study parent run (tag ``study``, no parent) that started last, if any."""
    parents = [run for run in records if is_study_parent(run)]
    return max(parents, key=lambda run: run.start_time, default=None)


def report_html(
    experiment: str,
    records: Sequence[RunRecord],
    comparison: Comparison,
    curves: dict[int, dict[str, list[tuple[int, float]]]],
    confusion: Sequence[Picture],
    study: RunRecord | None,
    plots: Sequence[Picture | str],
) -> str:
    """The whole report as one HTML document.

    Parameters
    ----------
    experiment : str
    records : sequence of RunRecord
        Every run of the experiment (for the dates; trials included).
    comparison : Comparison
    curves : dict
        Row number -> seed -> ``(epoch, value)`` of ``val_accuracy``.
    confusion : sequence of Picture
        The confusion matrices to show, best first.
    study : RunRecord or None
        The study parent whose search the report describes.
    plots : sequence of Picture or str
        The study's plots; a text, the note shown in place of a plot left out.
    """
    title = f"Experiment “{experiment}”"
    parts = [f"<h1>{_text(title)}</h1>", _introduction(records, comparison)]
    parts += _comparison_section(comparison)
    parts += _curves_section(comparison, curves)
    if confusion:
        parts.append("<h2>Confusion matrices</h2>")
        parts.append(
            "<p>Rows are the true digits or classes, columns what the network answered: the "
            "diagonal holds the right answers, any other cell a confusion worth a look.</p>"
        )
        parts += [_figure(picture.png, picture.caption) for picture in confusion]
    if study is not None:
        parts += _study_section(study, plots)
    made = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    parts.append(
        f"<footer><p>Made on {made} by <code>python -m bench report "
        f"{_text(_quoted(experiment))}</code> from the runs in MLflow.</p></footer>"
    )
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_text(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def png_data_uri(png: bytes) -> str:
    """``png`` as a ``data:image/png;base64,...`` URI."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def figure_png(figure: Figure) -> bytes:
    """A matplotlib figure rendered as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _introduction(records: Sequence[RunRecord], comparison: Comparison) -> str:
    scored = [run for c in comparison.configurations for run in c.runs]
    benchmarks = sorted({c.benchmark for c in comparison.configurations})
    datasets = sorted({run.params.get("dataset", "") for run in scored} - {""})
    seeds = sorted_seeds(run_seed(run) for run in scored)
    times = [run.start_time for run in records if run.start_time]
    what = (
        f"{len(scored)} scored run{'s' if len(scored) != 1 else ''} in "
        f"{len(comparison.configurations)} configuration"
        f"{'s' if len(comparison.configurations) != 1 else ''}"
    )
    items = [("What", what)]
    if benchmarks:
        label = "Benchmark" if len(benchmarks) == 1 else "Benchmarks"
        items.append((label, "; ".join(_benchmark_line(name) for name in benchmarks)))
    if datasets:
        items.append(("Data", ", ".join(datasets)))
    if times:
        first, last = (_when(min(times)), _when(max(times)))
        items.append(("When", first if first == last else f"{first} to {last}"))
    if seeds:
        items.append(("Seeds", seed_ranges(seeds)))
    rows = "".join(f"<dt>{_text(k)}</dt><dd>{_text(v)}</dd>" for k, v in items)
    return f'<dl class="facts">{rows}</dl>'


def _comparison_section(comparison: Comparison) -> list[str]:
    parts = ["<h2>Comparison</h2>"]
    if not comparison.configurations:
        return [*parts, "<p>No run of this experiment has a test score.</p>"]
    parts.append(
        "<p>One row per configuration: runs that differ only in their seed are grouped. "
        "The columns between <em>benchmark</em> and <em>seeds</em> are the settings that "
        "differ between rows; the best test accuracy comes first.</p>"
    )
    parts.append(render(comparison, "html"))
    left_out = left_out_text(comparison.left_out)
    if left_out:
        parts.append(f'<p class="note">{_text(left_out[0].upper() + left_out[1:])}.</p>')
    pair = chosen_pair(comparison, None)
    if pair is not None:
        parts.append(f"<p><strong>{_text(paired_test(comparison, *pair).text)}.</strong></p>")
    parts.append(_READING_NOTE)
    return parts


def _curves_section(comparison: Comparison, curves) -> list[str]:
    parts = []
    missing: dict[str, list[str]] = {}
    for rank, by_seed in curves.items():
        configuration = comparison.configurations[rank - 1]
        # A baseline logs its validation accuracy once: a point, not a curve.
        if not any(len(points) > 1 for points in by_seed.values()):
            missing.setdefault(_why_no_curve(configuration), []).append(f"#{rank}")
            continue
        figure = seed_curves_figure(by_seed, metric=CURVE_METRIC)
        parts.append(_figure(figure_png(figure), _row_label(rank, configuration, comparison)))
    if not parts and not missing:
        return []
    intro = (
        "<p>Validation accuracy after each epoch, measured on the share of the training "
        "images held out from training (never the test set). With several seeds, each "
        "seed is a thin line and the thick black line is their mean.</p>"
    )
    for why, ranks in missing.items():
        intro += f'<p class="note">No per-epoch curve for {", ".join(ranks)}: {why}.</p>'
    return ["<h2>Learning curves</h2>", intro, *parts]


def _why_no_curve(configuration: Configuration) -> str:
    name = configuration.benchmark
    network = bool(configuration.epochs) or (
        name in benchmark_names() and get_benchmark(name).trains_by_epoch
    )
    if not network:
        return "a scikit-learn model, fitted in one go"
    # A network without epochs in MLflow: a study refitted before refits logged them.
    return "its runs logged no per-epoch validation accuracy"


def _study_section(study: RunRecord, plots: Sequence[Picture | str]) -> list[str]:
    name = study.tags[tags.STUDY]
    parts = [f"<h2>Study “{_text(name)}”</h2>"]
    facts = [
        ("Objective", study.tags.get(tags.OBJECTIVE, "")),
        (
            "Sampler, pruner",
            ", ".join(study.tags.get(key, "") for key in (tags.SAMPLER, tags.PRUNER)),
        ),
        ("Trials asked for", study.params.get("trials_requested", "")),
    ]
    best = {k.removeprefix("best_"): v for k, v in study.params.items() if k.startswith("best_")}
    if best:
        facts.append(("Best trial's settings", ", ".join(f"{k} = {v}" for k, v in best.items())))
    if "best_val_accuracy" in study.metrics:
        facts.append(("Its validation accuracy", f"{study.metrics['best_val_accuracy']:.4f}"))
    rows = "".join(f"<dt>{_text(k)}</dt><dd>{_text(v)}</dd>" for k, v in facts if v.strip(", "))
    parts.append(f'<dl class="facts">{rows}</dl>')
    if not any(isinstance(shown, Picture) for shown in plots):
        parts.append('<p class="note">The study logged no plots: no trial completed.</p>')
    parts += [
        f'<p class="note">{_text(shown)}</p>'
        if isinstance(shown, str)
        else _figure(shown.png, shown.caption)
        for shown in plots
    ]
    return parts


def _figure(png: bytes, caption: str) -> str:
    if not png.startswith(_PNG):
        raise ValueError(f"not a PNG image: {caption}")
    alt = _text(caption)
    return (
        f'<figure><img src="{png_data_uri(png)}" alt="{alt}">'
        f"<figcaption>{alt}</figcaption></figure>"
    )


def _row_label(rank: int, configuration: Configuration, comparison: Comparison) -> str:
    row = comparison.table.iloc[rank - 1]
    settings = [
        f"{column} = {row[column]}" for column in comparison.setting_columns if row[column] != ""
    ]
    seeds = seed_ranges(configuration.seeds)
    described = f" ({', '.join(settings)})" if settings else ""
    return f"#{rank} {configuration.benchmark}{described}, seeds {seeds}"


def _curve_label(run: RunRecord, configuration: Configuration) -> str:
    """The run's seed, with the start of its id where another run has that seed too."""
    seed = run_seed(run)
    twins = [other for other in configuration.runs if run_seed(other) == seed]
    return seed if len(twins) == 1 else f"{seed} (run {run.run_id[:6]})"


def _benchmark_line(name: str) -> str:
    if name not in benchmark_names():
        return name
    benchmark = get_benchmark(name)
    return f"{name} ({benchmark.summary})"


def _when(milliseconds: int) -> str:
    moment = datetime.datetime.fromtimestamp(milliseconds / 1000)
    return moment.strftime("%Y-%m-%d %H:%M")


def _quoted(text: str) -> str:
    return f"'{text}'" if " " in text else text


def _text(value: object) -> str:
    return html.escape(str(value), quote=True)


_READING_NOTE = f"""<h3>How to read these numbers</h3>
<p><strong>mean ± std (n=…)</strong>: the same configuration was trained n times with
different seeds (the seed decides the starting weights, the order of the batches and
the validation split). The mean is their average test accuracy; the standard deviation
(std) says how much a single run's score moves when only the seed changes. A difference
between two rows smaller than their std may be luck of the seed.</p>
<p><strong>95% CI</strong>: an interval for the mean, from Student's t distribution
with n − 1 degrees of freedom. Made this way, such intervals contain the true mean
accuracy of the configuration 95 times in 100. More seeds make it narrower; with a
single run there is none.</p>
<p><strong>Paired t-test</strong>: two rows trained with the same seeds are compared
seed by seed, which removes what the seed does to both. The p-value is the chance of a
difference at least this large if the two configurations were equally good; below
{ALPHA} the difference is called significant.</p>"""

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; line-height: 1.45; color: #222; }
h1 { margin-bottom: 0.5rem; }
h2 { margin-top: 2.2rem; border-bottom: 1px solid #ccc; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: 0.2rem 1rem; }
dl.facts dt { font-weight: bold; }
dl.facts dd { margin: 0; }
table.comparison { border-collapse: collapse; font-size: 0.9rem; }
table.comparison th, table.comparison td { padding: 0.25rem 0.6rem;
       border-bottom: 1px solid #ddd; text-align: left; }
figure { margin: 1.2rem 0; }
figure img { max-width: 100%; height: auto; }
figcaption { font-size: 0.9rem; color: #555; }
.note { color: #555; }
footer { margin-top: 3rem; font-size: 0.85rem; color: #777; }
"""
