"""Progress display for the CLI: a bar per epoch on a terminal, a line per epoch
otherwise (logs, CI), and a byte bar for downloads."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping

import keras
from tqdm import tqdm

SHOWN = ("loss", "accuracy", "val_loss", "val_accuracy")


def format_metrics(logs: Mapping[str, float]) -> str:
    """``loss 0.1234  accuracy 0.9612 ...`` for the metrics users watch."""
    return "  ".join(f"{key} {logs[key]:.4f}" for key in SHOWN if key in logs)


class EpochProgress(keras.callbacks.Callback):
    """Shows training progress on stderr.

    On a terminal each epoch gets a bar over its batches that ends with the epoch's
    metrics; elsewhere each epoch prints one line when it ends.
    """

    def __init__(self, stream=None):
        super().__init__()
        self.stream = stream or sys.stderr
        self.bar: tqdm | None = None
        self.interactive = self.stream.isatty()

    def on_epoch_begin(self, epoch, logs=None):
        if self.interactive:
            self.bar = tqdm(
                total=self.params.get("steps"),
                desc=self._label(epoch),
                unit="batch",
                leave=True,
                file=self.stream,
                dynamic_ncols=True,
            )

    def on_train_batch_end(self, batch, logs=None):
        if self.bar is not None:
            self.bar.update(1)
            if batch % 20 == 0 and logs:
                self.bar.set_postfix_str(format_metrics(logs), refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        text = format_metrics(logs or {})
        if self.bar is not None:
            self.bar.set_postfix_str(text)
            self.bar.close()
            self.bar = None
        else:
            print(f"{self._label(epoch)}  {text}", file=self.stream, flush=True)

    def on_train_end(self, logs=None):
        if self.bar is not None:  # interrupted mid-epoch
            self.bar.close()
            self.bar = None

    def _label(self, epoch: int) -> str:
        return f"epoch {epoch + 1}/{self.params.get('epochs', '?')}"


def download_progress(stream=None) -> Callable[[int, int], None]:
    """A ``progress(done, total)`` callback drawing one byte bar per file."""
    stream = stream or sys.stderr
    state: dict[str, tqdm] = {}

    def update(done: int, total: int) -> None:
        bar = state.get("bar")
        if bar is None or done < bar.n:
            bar = state["bar"] = tqdm(
                total=total or None, unit="B", unit_scale=True, desc="download", file=stream
            )
        bar.update(done - bar.n)
        if total and done >= total:
            bar.close()
            state.pop("bar")

    return update


class TrialProgress:
    """Optuna callback showing a study's progress on stderr: on a terminal, a bar over
    the requested trials with the best value so far; elsewhere (a log file, CI), one
    line per finished trial.

    Trials count as ``bench study`` counts them (:func:`studies.trials.count_finished`):
    a resumed study starts where it stopped, and an interrupted trial is not counted.
    """

    def __init__(self, total: int | None, stream=None):
        self.total = total
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty()
        self.bar: tqdm | None = None

    def __enter__(self) -> TrialProgress:
        if self.interactive:
            self.bar = tqdm(total=self.total, unit="trial", desc="study", file=self.stream)
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()

    def __call__(self, study, trial) -> None:
        from studies.trials import best_trial, count_finished

        done = count_finished(study)
        best = best_trial(study)
        state = trial.state.name.lower()
        if self.bar is not None:
            self.bar.n = done
            self.bar.refresh()
            best_text = f", best {best.values[0]:.4f}" if best else ""
            self.bar.set_postfix_str(f"last {state}{best_text}")
            return
        value = f"  value {trial.values[0]:.4f}" if trial.values else ""
        best_text = f"  best {best.values[0]:.4f} (trial {best.number})" if best else ""
        seconds = trial.duration.total_seconds() if trial.duration else 0.0
        print(
            f"trial {trial.number} {state}{value}{best_text}  "
            f"[{done}/{self.total or '-'}, {seconds:.1f} s]",
            file=self.stream,
            flush=True,
        )


def baseline_notice(pipeline, n_images: int, stream=None) -> None:
    """One line before a baseline's fit, which has no epochs to show progress by."""
    classifier = pipeline[-1]
    if "epochs" not in classifier.get_params(deep=False):
        print(
            f"fitting {type(classifier).__name__} on {n_images:,} images in one call "
            "(a scikit-learn baseline: no epochs to show progress by) ...",
            file=stream or sys.stderr,
            flush=True,
        )


def seed_notice(k: int, repeats: int, seed: int, stream=None) -> None:
    """A heading before each seed's run of ``bench run --repeats``."""
    print(f"-- seed {seed} ({k} of {repeats})", file=stream or sys.stderr, flush=True)


def refit_notice(k: int, repeats: int, seed: int, stream=None) -> None:
    """A heading before the refit of a study's best configuration (one per seed)."""
    which = f", seed {seed} ({k} of {repeats})" if repeats > 1 else ""
    print(
        f"-- refitting the best configuration as `bench run` trains it{which}, "
        "then scoring it on the test set",
        file=stream or sys.stderr,
        flush=True,
    )
