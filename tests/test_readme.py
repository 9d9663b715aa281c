"""The README: its ```python block runs, its commands are CI's, its links lead on.

The README is the front door; the depth is in the documentation (docs/),
whose pages' blocks tests/test_doc_pages.py runs. The ```bash blocks are
install and test commands; they are not run here. `.ci/run` runs the
README's test command itself, and the tests below check that the README and
`.ci/run` say the same commands.
"""

import re
import warnings
from pathlib import Path

import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss

from sknnfs._doc_links import DOCS_URL

REPO_ROOT = Path(__file__).resolve().parent.parent
README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(language):
    return [code for lang, code in BLOCK.findall(README) if lang == language]


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "readme"}
    python_blocks = blocks("python")
    for code in python_blocks:
        with warnings.catch_warnings():
            # The quick start's small epoch budget ends before convergence.
            warnings.simplefilter("ignore", ConvergenceWarning)
            exec(compile(code, "README.md", "exec"), namespace)
    # The quick start (the docs' getting-started page includes it too).
    assert python_blocks
    model, X_test, y_test = (namespace[name] for name in ("model", "X_test", "y_test"))
    assert model.predict(X_test).shape == y_test.shape
    expected_score = -log_loss(y_test, model.predict_proba(X_test))
    assert model.score(X_test, y_test) == pytest.approx(expected_score, rel=1e-12)


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


def _introduction():
    """The README's text before its first ``## heading``."""
    return README.split("\n## ", 1)[0]


def test_readme_says_loading_a_pickle_runs_code_where_it_offers_pickles():
    # As scikit-learn's model persistence page does (issue 11, item 18); the
    # docs' pages on Dask and failures say it too (tests/test_doc_pages.py).
    text = _introduction()
    assert re.search(r"pickl", text)
    runs_code = r"loading\s+a\s+pickle(d\s+estimator)?\s+runs\s+code"
    assert re.search(runs_code, text, re.IGNORECASE)


def test_readme_links_the_documentation_on_its_first_screen():
    first_screen = "\n".join(README.splitlines()[:25])
    assert f"**Documentation: <{DOCS_URL}>**" in first_screen


def test_readme_links_into_the_docs_at_the_address_of_the_html_repr():
    # tests/test_docs.py checks that each leads to a built page and anchor.
    links = re.findall(r"https?://[^\s)>]*readthedocs[^\s)>]*", README)
    assert len(links) >= 10
    for link in links:
        assert link.startswith(DOCS_URL)


def test_readme_links_to_its_own_headings_resolve():
    slugs = {
        re.sub(r"[^\w\- ]", "", heading).strip().lower().replace(" ", "-")
        for heading in re.findall(r"^#+ (.*)$", README, re.MULTILINE)
    }
    anchors = re.findall(r"\]\(#([\w-]+)\)", README)
    assert anchors
    assert set(anchors) <= slugs
