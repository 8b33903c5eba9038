"""The estimators in a user's own scikit-learn code print nothing but what the user
asked for, unless the user has set TensorFlow's logging themselves.

Each test runs a real Python process, as a user's script: TensorFlow's start-up lines
come from its C++ library while it loads, so only a fresh process shows them.
"""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

DIGITS_PIPELINE = """
from sklearn.datasets import load_digits
from sklearn.pipeline import make_pipeline
from estimators import KerasMLPClassifier, PixelScaler

X, y = load_digits(return_X_y=True)
pipe = make_pipeline(PixelScaler(16), KerasMLPClassifier((16,), epochs=2, random_state=0))
"""
# A line of absl's C++ log format, as TensorFlow writes them: "I0000 00:00:17... port.cc:153]".
CPP_LOG_LINE = re.compile(r"^[IWEF]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\]", re.M)


def run_user_script(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter whose environment says nothing about
    TensorFlow's logging (unless ``env`` does), as a user's shell would."""
    unset = {"TF_CPP_MIN_LOG_LEVEL", "PYTEST_CURRENT_TEST", "ABSL_MIN_LOG_LEVEL"}
    environment = {key: value for key, value in os.environ.items() if key not in unset}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_building_a_model_prints_nothing():
    done = run_user_script(
        DIGITS_PIPELINE + "pipe[-1].initialize(X[:20] / 16, y[:20])\nprint('built')"
    )
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("built\n", "")


@pytest.mark.slow
def test_cross_val_score_prints_nothing_but_the_users_print():
    done = run_user_script(
        DIGITS_PIPELINE
        + """
from sklearn.model_selection import cross_val_score
print("folds", len(cross_val_score(pipe, X, y, cv=3)))
"""
    )
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("folds 3\n", "")


@pytest.mark.slow
def test_grid_search_workers_print_nothing():
    # loky's worker processes start TensorFlow again when they unpickle the estimator.
    done = run_user_script(
        DIGITS_PIPELINE
        + """
from sklearn.model_selection import GridSearchCV
grid = {"kerasmlpclassifier__hidden_layer_sizes": [(8,), (16,)]}
search = GridSearchCV(pipe, grid, cv=2, n_jobs=2).fit(X, y)
print("candidates", len(search.cv_results_["params"]))
"""
    )
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("candidates 2\n", "")


@pytest.mark.slow
def test_the_users_own_tensorflow_log_level_wins():
    done = run_user_script(
        DIGITS_PIPELINE
        + """
import os
pipe.fit(X[:300], y[:300])
print("level", os.environ["TF_CPP_MIN_LOG_LEVEL"])
""",
        TF_CPP_MIN_LOG_LEVEL="0",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "level 0\n"
    assert CPP_LOG_LINE.search(done.stderr), "TensorFlow's own log lines were hidden"


@pytest.mark.slow
def test_refitting_and_predicting_does_not_retrace():
    # Each fit builds a new Keras model; predicting a batch that is not a multiple of
    # batch_size, or a small one, must not make TensorFlow warn about retracing even
    # with its Python logger at WARNING, as the user set it.
    done = run_user_script(
        DIGITS_PIPELINE
        + """
import logging
logging.getLogger("tensorflow").setLevel(logging.WARNING)
for seed in range(6):
    pipe.set_params(kerasmlpclassifier__random_state=seed).fit(X[:400], y[:400])
    pipe.predict(X[:50])
    pipe.predict(X[:300])
print("fitted")
"""
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "fitted\n"
    assert "retracing" not in done.stderr


def test_a_predict_traces_the_models_prediction_function_once():
    # 300 rows in batches of 128: the short last batch is padded, not traced again.
    import keras
    from sklearn.datasets import load_digits

    from estimators import KerasMLPClassifier

    if keras.backend.backend() != "tensorflow":
        pytest.skip("tf.function tracing is TensorFlow's")
    X, y = load_digits(return_X_y=True)
    clf = KerasMLPClassifier((8,), epochs=1, batch_size=128, random_state=0).fit(X / 16, y)
    assert clf.predict_proba(X[:300] / 16).shape == (300, 10)
    assert clf.predict(X[:7] / 16).shape == (7,)
    function = clf.model_.predict_function
    assert function.experimental_get_tracing_count() == 1
    # Private TensorFlow API that keeps the one trace per new model from warning.
    assert function._omit_frequent_tracing_warning is True
