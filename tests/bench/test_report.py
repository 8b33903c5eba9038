"""``bench report``'s page: valid HTML that stands alone, with the table, the curves, the
confusion matrices and a study's plots, logged on the study's parent run."""

import base64
import io
import re

import html5lib
import pandas as pd
import pytest

from bench.errors import UsageError
from bench.tracking.history import artifact_bytes, open_store
from bench.use_cases.report import experiment_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
XHTML = "{http://www.w3.org/1999/xhtml}"


def open_store_at(store):
    return open_store(f"sqlite:///{store.folder / 'mlruns' / 'mlflow.db'}")


@pytest.fixture(scope="module")
def reports(compared_store):
    """The reports of the ``seeds`` and ``digits-mlp study`` experiments."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(compared_store.folder)
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        return {name: experiment_report(name) for name in ("seeds", "digits-mlp study")}


def elements(html: str):
    """Every element of ``html``, parsed strictly: a parse error fails the test."""
    document = html5lib.HTMLParser(strict=True).parse(html)
    return list(document.iter())


def images(html: str) -> list[bytes]:
    """The bytes of every <img>, each checked to be an embedded PNG."""
    found = []
    for element in elements(html):
        if element.tag == f"{XHTML}img":
            source = element.get("src")
            assert source.startswith("data:image/png;base64,"), source[:60]
            found.append(base64.b64decode(source.removeprefix("data:image/png;base64,")))
    return found


@pytest.mark.parametrize("name", ["seeds", "digits-mlp study"])
def test_the_report_is_valid_html_that_loads_nothing_from_elsewhere(reports, name):
    html = reports[name].html
    tags = {element.tag.removeprefix(XHTML) for element in elements(html)}
    assert {"html", "head", "title", "body", "h1", "table"} <= tags
    assert not tags & {"script", "link", "iframe", "object", "embed"}
    for element in elements(html):
        for attribute in ("src", "href", "srcset", "data"):
            value = element.get(attribute)
            assert value is None or value.startswith("data:image/png;base64,"), value[:60]
    assert "url(" not in html
    pictures = images(html)
    assert pictures and all(png.startswith(PNG_SIGNATURE) for png in pictures)


def test_the_report_says_what_when_and_which_seeds(reports):
    html = reports["seeds"].html
    assert "<h1>Experiment “seeds”</h1>" in html
    assert re.search(r"<dt>When</dt><dd>\d{4}-\d\d-\d\d \d\d:\d\d", html)
    assert "<dt>Seeds</dt><dd>0-5</dd>" in html
    assert "digits-mlp (MLP 128" in html  # what the benchmark is, from its declaration
    assert "mean ± std (n=…)" in html and "95% CI" in html


def test_the_report_holds_the_comparison_table(reports):
    report = reports["seeds"]
    table = next(t for t in pd.read_html(io.StringIO(report.html), flavor="html5lib") if "#" in t)
    assert list(table["#"]) == list(report.comparison.table["#"])
    assert list(table["benchmark"]) == ["digits-mlp", "digits-mlp", "digits-svc"]
    assert "Left out 1 run without a test score: 1 failed run." in report.html


def test_curves_for_runs_with_histories_and_the_best_runs_confusion_matrix(reports, compared_store):
    report = reports["seeds"]
    pictures = images(report.html)
    # Two configurations with per-epoch curves, the SVC without; one run logged a matrix.
    assert report.html.count("<figcaption>#") == 3
    assert "No per-epoch curve for #3" in report.html
    client = open_store_at(compared_store)
    matrix = artifact_bytes(client, compared_store.run_ids["matrix"][0], "confusion_matrix.png")
    assert matrix in pictures


def test_a_missing_curve_is_explained_by_what_the_row_is(reports):
    # The SVC of "seeds" fits in one go; the study's Keras refit (#1), logged without
    # its epochs, is no scikit-learn model.
    assert "No per-epoch curve for #3: a scikit-learn model, fitted in one go." in (
        reports["seeds"].html
    )
    study = reports["digits-mlp study"].html
    assert "No per-epoch curve for #1: its runs logged no per-epoch validation accuracy." in study
    assert "fitted in one go" not in study and "fit in one go" not in study


def test_a_study_s_plots_are_embedded_and_the_report_logged_on_its_parent(reports, compared_store):
    report = reports["digits-mlp study"]
    parent = compared_store.run_ids["study"][0]
    assert report.logged_on == parent
    client = open_store_at(compared_store)
    for name in ("optimization_history", "param_importances"):
        assert artifact_bytes(client, parent, f"plots/{name}.png") in images(report.html)
    assert "Optimisation history" in report.html and "best_so_far" not in report.html
    assert artifact_bytes(client, parent, "report.html") == report.html.encode()
    assert "<dt>Best trial&#x27;s settings</dt><dd>dropout = 0.4</dd>" in report.html


def test_without_a_study_the_report_is_logged_nowhere(reports, compared_store):
    assert reports["seeds"].logged_on == ""
    client = open_store_at(compared_store)
    for run_id in compared_store.run_ids["a"]:
        assert artifact_bytes(client, run_id, "report.html") is None


def test_an_experiment_with_nothing_to_show_is_a_usage_error(in_compared_store):
    with pytest.raises(UsageError, match="'failed only' has no scored runs and no study"):
        experiment_report("failed only")
