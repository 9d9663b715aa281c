"""Every ```python block of README.md runs, in order, in a scratch directory.

The ```bash blocks are install and test commands; they are not run here.
`.ci/run` runs the README's test command itself, and the last tests below
check that the README and `.ci/run` say the same commands.
"""

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

REPO_ROOT = Path(__file__).resolve().parent.parent
README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)

# A block that imports one of these runs only where it is installed: dask-ml
# and MLflow are documented but optional, not among the extras; skl2onnx and
# onnxruntime are the onnx extra, which the other blocks do not need.
OPTIONAL_MODULES = ("dask_ml", "mlflow", "skl2onnx", "onnxruntime")


def blocks(language):
    return [code for lang, code in BLOCK.findall(README) if lang == language]


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    # The README's blocks use the progress and dask extras (CI installs them).
    for module, extra in (
        ("rich", "progress"),
        ("dask", "dask"),
        ("distributed", "dask"),
    ):
        pytest.importorskip(
            module, reason=f"the README's blocks need the {extra} extra"
        )
    monkeypatch.chdir(tmp_path)
    # The MLflow block sets it; monkeypatch unsets it after the test.
    monkeypatch.delenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", raising=False)
    namespace = {"__name__": "readme"}
    ran = 0
    for code in blocks("python"):
        optional = [
            name
            for name in OPTIONAL_MODULES
            if re.search(rf"^(from|import) {name}\b", code, re.MULTILINE)
        ]
        if optional and any(_missing(name) for name in optional):
            continue
        with warnings.catch_warnings():
            # The README's small epoch budgets end before convergence.
            warnings.simplefilter("ignore", ConvergenceWarning)
            exec(compile(code, "README.md", "exec"), namespace)
        ran += 1
    assert ran >= 6
    # Some results, to show the blocks did their work.
    assert namespace["search"].best_params_
    assert namespace["proba"].shape == (len(namespace["X_test"]), 10)
    assert len(namespace["epochs"]) == namespace["clf"].n_iter_
    assert "MLPClassifier's name. Use optimizer= instead" in namespace["advice"]
    loaded_proba = namespace["loaded_model"].predict_proba(namespace["X_test"])
    assert (
        loaded_proba == namespace["saved_model"].predict_proba(namespace["X_test"])
    ).all()
    if "mlflow_model" in namespace:  # MLflow is installed
        assert namespace["same"].all()
    if "onnx_proba" in namespace:  # the onnx extra is installed
        digits_model, X_digits = namespace["digits_model"], namespace["X_digits"]
        expected_proba = digits_model.predict_proba(X_digits)
        assert np.abs(namespace["onnx_proba"] - expected_proba).max() < 1e-5
        assert (namespace["onnx_labels"] == digits_model.predict(X_digits)).all()


def _missing(module):
    try:
        __import__(module)
    except ImportError:
        return True
    return False


# The README's two set-up commands, each run in a fresh clone.
DEMO_COMMAND = (
    "python3 -m venv .venv && . .venv/bin/activate && "
    'python -m pip install -e ".[plot]" && python -m sknnfs'
)
TEST_COMMAND = (
    "python3 -m venv .venv && . .venv/bin/activate && "
    'python -m pip install -e ".[test]" && python -m pytest'
)


def test_the_first_two_commands_run_the_demo_and_the_tests():
    first, second = blocks("bash")[:2]
    assert first.splitlines() == [DEMO_COMMAND]
    assert second.splitlines() == [TEST_COMMAND]


def test_ci_runs_the_readme_test_command_with_every_extra_installed():
    tomllib = pytest.importorskip("tomllib", reason="tomllib is Python 3.11's")
    ci_lines = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    # Word for word, and last: its exit status is the script's.
    assert ci_lines[-1] == TEST_COMMAND
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text("utf-8"))
    extras = set(pyproject["project"]["optional-dependencies"])
    installed = set()
    for line in ci_lines[:-1]:
        match = re.fullmatch(r'python -m pip install -e "\.\[([\w,]+)\]"', line)
        if match:
            installed.update(match[1].split(","))
    # dev holds tools for people (ruff, line_profiler), not tests.
    assert installed | {"test"} == extras - {"dev"}


def test_the_development_section_repeats_the_commands_of_ci():
    development = README.split("## Development", 1)[1]
    commands = blocks_in(development, "bash")[0].splitlines()
    assert commands[-1] == TEST_COMMAND
    ci_script = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    extras_install = commands[0].rsplit(" && ", 1)[1]
    assert extras_install in ci_script.splitlines()


def blocks_in(text, language):
    return [code for lang, code in BLOCK.findall(text) if lang == language]


def _section(heading):
    """The README's text under a ``## heading``, up to the next one."""
    return README.split(f"\n## {heading}", 1)[1].split("\n## ", 1)[0]


@pytest.mark.parametrize(
    "where",
    ["introduction", "Scaling out with Dask", "Failures are loud"],
)
def test_readme_says_loading_a_pickle_runs_code_where_it_offers_pickles(where):
    # As scikit-learn's model persistence page does (issue 11, item 18).
    text = README.split("\n## ", 1)[0] if where == "introduction" else _section(where)
    assert re.search(r"pickl", text)
    runs_code = r"loading\s+a\s+pickle(d\s+estimator)?\s+runs\s+code"
    assert re.search(runs_code, text, re.IGNORECASE)


def test_readme_failures_section_names_the_class_weight_errors():
    failures = _section("Failures are loud")
    assert re.search(r"a `class_weight` key that is no class\s+raises", failures)
    assert re.search(r"finite\s+and\s+non-negative", failures)
