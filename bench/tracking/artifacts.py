"""What a finished run gets: final metrics, report artifacts and the fitted pipeline."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import keras
import mlflow.sklearn
import numpy as np
from mlflow.models import infer_signature

import estimators
from bench import reports
from bench.data import Dataset
from bench.environment import package_versions
from bench.tracking.runs import TrackedRun
from bench.training import RunOutcome


def log_outcome(run: TrackedRun, outcome: RunOutcome, dataset: Dataset) -> None:
    """Log the final scores, the report artifacts and the fitted pipeline."""
    run.log_metrics(final_metrics(outcome))
    log_reports(run, outcome, dataset.y_test, dataset.class_names)
    log_pipeline(run, outcome.pipeline, dataset.X_test)


def final_metrics(outcome: RunOutcome) -> dict[str, float]:
    """Test-set scores, per-class F1, fit time and weight count as metric values."""
    test = outcome.test
    metrics = {
        "test_accuracy": test.accuracy,
        "test_loss": test.loss,
        "test_macro_f1": test.macro_f1,
        "fit_seconds": outcome.fit_seconds,
        "n_weights": outcome.n_weights,
    }
    for name, value in test.per_class_f1.items():
        metrics[f"test_f1_{metric_safe(name)}"] = value
    return metrics


def log_reports(run: TrackedRun, outcome: RunOutcome, y_true, class_names) -> None:
    """Confusion matrix, classification report, confused pairs, curves, model summary."""
    y_pred = outcome.test.y_pred
    table = reports.confusion_matrix_table(y_true, y_pred, class_names)
    run.log_text(table.to_csv(), "confusion_matrix.csv")
    run.log_figure(
        reports.confusion_matrix_figure(y_true, y_pred, class_names, title="Test set"),
        "confusion_matrix.png",
    )
    run.log_text(
        reports.classification_report_text(y_true, y_pred, class_names),
        "classification_report.txt",
    )
    pairs = reports.most_confused_pairs(y_true, y_pred, class_names)
    run.log_text(pairs.to_csv(index=False), "most_confused_pairs.csv")
    run.log_figure(reports.learning_curves_figure(outcome.history), "learning_curves.png")
    run.log_text(reports.model_summary_text(outcome.pipeline[-1].model_), "model_summary.txt")


def log_pipeline(run: TrackedRun, pipeline, X_example) -> None:
    """Save the fitted pipeline as an MLflow model with signature and input example.

    The model is created in the run's experiment explicitly (MLflow would otherwise
    use the process-wide current experiment), and its requirements are the versions
    installed here rather than inferred by reloading the model in a subprocess.
    """
    example = np.asarray(X_example[:5])
    signature = infer_signature(example, pipeline.predict(example))
    experiment = run.client.get_run(run.run_id).info.experiment_id
    model = run.client.create_logged_model(experiment, name="model", source_run_id=run.run_id)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlflow.sklearn.log_model(
            pipeline,
            name="model",
            model_id=model.model_id,
            run_id=run.run_id,
            signature=signature,
            input_example=example,
            pip_requirements=model_requirements(),
            code_paths=[str(Path(estimators.__file__).parent)],
            # skops cannot serialise the Keras model inside scikeras' wrapper.
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
        )


def model_requirements() -> list[str]:
    """Pinned requirements for loading a logged pipeline elsewhere."""
    versions = package_versions()
    needed = ("keras", keras.backend.backend(), "scikit-learn", "scikeras", "scikit-image")
    needed += ("numpy", "mlflow", "cloudpickle")
    return [f"{name}=={versions[name]}" for name in needed if name in versions]


def metric_safe(name: str) -> str:
    """``name`` with characters MLflow rejects in metric keys replaced by ``-``."""
    return re.sub(r"[^0-9A-Za-z_\-. ]", "-", name)
