"""Every script in examples/ runs, warns of nothing, saves its picture and
prints what its text says it finds.

The gallery (docs/auto_examples) shows these same runs: the scripts have a
single mode, so what a reader runs, what the gallery shows and what is
tested here are one run. Each script runs once per test session, with
warnings as errors, in a scratch directory.
"""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((REPO_ROOT / "examples").glob("*.py"))
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PLOT_EXTRA = 'the examples\' pictures need the plot extra: pip install -e ".[plot]"'


@pytest.fixture(scope="session")
def example_run(tmp_path_factory):
    """``run(script)``: the finished run of ``script``, run once a session."""
    runs = {}

    def run(script):
        if script.name not in runs:
            directory = tmp_path_factory.mktemp(script.stem)
            env = dict(os.environ)
            env.pop("SKNNFS_QUICK", None)
            env["MPLBACKEND"] = "Agg"
            env["PYTHONPATH"] = os.pathsep.join(
                [str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])]
            )
            completed = subprocess.run(
                [sys.executable, "-W", "error", str(script)],
                cwd=directory,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            runs[script.name] = completed, directory
        return runs[script.name]

    return run


def test_there_are_examples():
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda path: path.name)
def test_example_runs_without_a_warning(script, example_run):
    completed, _ = example_run(script)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stderr == ""


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda path: path.name)
def test_example_saves_its_picture_and_nothing_else(script, example_run):
    pytest.importorskip("matplotlib", reason=PLOT_EXTRA)
    completed, directory = example_run(script)
    assert completed.returncode == 0, completed.stderr
    picture = f"{script.stem}.png"
    assert [path.name for path in directory.iterdir()] == [picture]
    assert (directory / picture).read_bytes().startswith(PNG_SIGNATURE)
    assert f"wrote {picture}" in completed.stdout
    assert f"Writes ``{picture}``" in script.read_text(encoding="utf-8")


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda path: path.name)
def test_example_says_what_it_finds(script):
    docstring = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8")))
    assert "What it finds: " in docstring
    assert "SKNNFS_QUICK" not in script.read_text(encoding="utf-8")


# ------------------------------------------------ each example's conclusion
def number(pattern, text):
    """The one number ``pattern`` captures in ``text``."""
    (value,) = re.findall(pattern, text)
    return float(value)


def spiral_decision_boundary(output):
    linear = number(r"LogisticRegression +held-out accuracy ([\d.]+)", output)
    network = number(r"NNFSClassifier +held-out accuracy ([\d.]+)", output)
    # "about 84 %", "about 43 %, little better than the 33 % of chance"
    assert network == pytest.approx(0.84, abs=0.03)
    assert linear == pytest.approx(0.43, abs=0.03)


def digits_grid_search(output):
    rows = re.findall(
        r"^(\(.*?\)) +([\d.]+) +([\d.e-]+) +([\d.]+) +([\d.]+)$", output, re.M
    )
    log_loss = {
        (hidden, float(dropout), float(l2)): float(loss)
        for hidden, dropout, l2, _, loss in rows
    }
    assert len(log_loss) == 8
    # The penalty lowers the log-loss of every hidden size and dropout.
    for hidden, dropout, l2 in log_loss:
        if l2 == 0:
            assert log_loss[hidden, dropout, 1e-3] < log_loss[hidden, dropout, 0.0]
    # The most accurate candidate (the table's first row) is penalised.
    assert float(rows[0][2]) == 1e-3
    best = ast.literal_eval(output.split("best parameters: ")[1].splitlines()[0])
    assert best["net__l2"] == 1e-3
    assert number(r"held-out accuracy: ([\d.]+)", output) == pytest.approx(
        0.98, abs=0.01
    )


def imbalanced_class_weight(output):
    recall = {
        weighting: np.array(values.split(), dtype=float)
        for weighting, values in re.findall(
            r"class_weight=(\w+) +recall per class \[([\d. ]+)\]", output
        )
    }
    balanced = {
        weighting: float(value)
        for weighting, value in re.findall(
            r"class_weight=(\w+) .*balanced accuracy ([\d.]+)", output
        )
    }
    # "raises the rare class's recall from about 0.3 to about 0.8 and the
    # balanced accuracy from 0.67 to 0.82, for some recall of the frequent class"
    assert recall["None"][2] == pytest.approx(0.3, abs=0.05)
    assert recall["balanced"][2] == pytest.approx(0.8, abs=0.05)
    assert balanced["None"] == pytest.approx(0.67, abs=0.01)
    assert balanced["balanced"] == pytest.approx(0.82, abs=0.01)
    assert recall["balanced"][0] < recall["None"][0]


def multilabel(output):
    scores = {
        name: (float(accuracy), float(hamming))
        for name, accuracy, hamming in re.findall(
            r"(\w+) +subset accuracy ([\d.]+), Hamming loss ([\d.]+)", output
        )
    }
    f1 = {
        name: np.array(values.split(), dtype=float)
        for name, values in re.findall(r"(\w+) +F1 per label \[([\d. ]+)\]", output)
    }
    ours, theirs = scores["NNFSClassifier"], scores["MLPClassifier"]
    assert abs(ours[0] - theirs[0]) <= 0.01
    assert abs(ours[1] - theirs[1]) <= 0.01
    assert np.abs(f1["NNFSClassifier"] - f1["MLPClassifier"]).max() <= 0.03
    assert f1["NNFSClassifier"].shape == (5,)


def out_of_core_partial_fit(output):
    passes = re.findall(r"held-out accuracy ([\d.]+), log-loss ([\d.]+)", output)
    accuracy, log_loss = np.array(passes, dtype=float).T
    assert len(passes) == 5
    assert np.all(np.diff(log_loss) < 0)  # "falls with every pass"
    assert accuracy[-1] == pytest.approx(0.9, abs=0.015)
    assert "200000 rows seen" in output  # five passes over 40,000 rows


def regression_sine(output):
    assert number(r"R² on the sine data: ([\d.]+)", output) > 0.999
    assert 50 <= number(r"epochs run: (\d+)", output) <= 150  # about a hundred


def text_classification(output):
    assert number(r"accuracy +([\d.]+) +\d+", output) == 1.0
    found = re.findall(r"'(.+)': (\w+) \(([\d.]+)\)", output)
    assert [topic for _, topic, _ in found] == [
        "sport",
        "cooking",
        "computing",
        "weather",
    ]
    for _, _, probability in found:
        assert float(probability) == pytest.approx(0.9, abs=0.07)


CONCLUSIONS = {
    check.__name__: check
    for check in (
        spiral_decision_boundary,
        digits_grid_search,
        imbalanced_class_weight,
        multilabel,
        out_of_core_partial_fit,
        regression_sine,
        text_classification,
    )
}


def test_every_example_has_its_conclusion_checked():
    assert sorted(CONCLUSIONS) == [script.stem for script in EXAMPLES]


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda path: path.name)
def test_example_prints_what_its_text_says_it_finds(script, example_run):
    completed, _ = example_run(script)
    assert completed.returncode == 0, completed.stderr
    CONCLUSIONS[script.stem](completed.stdout)
