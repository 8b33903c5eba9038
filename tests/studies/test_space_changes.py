"""A study stored by an earlier search space (choices since grown, as flips joined the
augmentations of flip-safe datasets) is refused in one line before any work, through
``bench.cli.main`` on the real journal store; an unchanged one resumes."""

import optuna
import pytest
from optuna.distributions import CategoricalDistribution

from bench.benchmarks import get_benchmark
from bench.cli import main
from studies.spaces import DISTRIBUTIONS, changed_distributions
from studies.storage import default_storage, open_storage


def stored_study(activations: tuple[str, ...]) -> optuna.Study:
    """A digits-mlp study in the default journal with one trial whose activation was
    sampled from ``activations``."""
    study = optuna.create_study(study_name="digits-mlp", storage=open_storage(default_storage()))
    trial = study.ask({"activation": CategoricalDistribution(activations)})
    study.tell(trial, 0.5)
    return study


def test_a_study_of_other_choices_is_refused_in_one_line(mlflow_store, capsys):
    stored_study(("relu", "tanh"))

    assert main(["study", "digits-mlp", "--trials", "2"]) == 2

    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("bench: error: study 'digits-mlp' was searched over other")
    assert "activation: (relu, tanh) then, (relu, tanh, sigmoid, " in lines[0]
    assert "--study-name" in lines[0]
    study = optuna.load_study(study_name="digits-mlp", storage=open_storage(default_storage()))
    assert len(study.trials) == 1  # nothing added, nothing failed


def test_unchanged_choices_and_other_names_are_no_change():
    benchmark = get_benchmark("fashion-cnn")
    pipeline = benchmark.build(pixel_max=255.0, seed=0)
    same = {"activation": DISTRIBUTIONS["activation"], "units_3": DISTRIBUTIONS["units"]}
    assert changed_distributions(same, pipeline, image_shape=(28, 28)) == []
    # A grid's own names are not the table's.
    grid = {"clf__depth": CategoricalDistribution((5, 20))}
    assert changed_distributions(grid, pipeline, image_shape=(28, 28)) == []


@pytest.mark.parametrize(("flip_safe", "changed"), [(True, True), (False, False)])
def test_a_study_from_before_flips_is_changed_only_where_flips_are_sampled(flip_safe, changed):
    pipeline = get_benchmark("fashion-cnn").build(pixel_max=255.0, seed=0)
    before = {"augment": CategoricalDistribution((None, "shift_rotate_zoom"))}
    found = changed_distributions(before, pipeline, image_shape=(28, 28), flip_safe=flip_safe)
    assert bool(found) is changed
    if changed:
        assert found == [
            "augment: (None, shift_rotate_zoom) then, (None, shift_rotate_zoom, flip, "
            "shift_flip) now"
        ]
