"""Every Python block of the docs runs, and the pages say what they must.

The pages are the .rst and .md files of docs/ (the generated ones aside). A
page's Python blocks are its ``.. code-block:: python`` and ``::`` literal
blocks (.rst; Sphinx highlights those as Python) or its ```python fences
(.md), in order, with the blocks of the README parts it includes where it
includes them. Each page runs in a namespace of its own, in a scratch
directory; every page but "Getting started" starts from the namespace that
page's blocks leave (its imports and data sets), as the user guide says.
The ```bash blocks are commands; tests/test_readme.py checks the set-up ones.
"""

import re
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from test_readme import TEST_COMMAND

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCS = REPO_ROOT / "docs"
# Written by the build (or templates of it), not pages of their own.
NOT_PAGES = {"_build", "_templates", "auto_examples", "generated"}
GETTING_STARTED = "user_guide/getting_started.md"

# A page runs only where the extras its blocks need are installed: a module,
# the extra that installs it, and what in a block needs it.
EXTRA_MODULES = [
    ("rich", "progress", r"\bProgressBar\("),  # scikit-learn's draws with rich
    ("dask", "dask", r"^\s*(from|import) dask\b"),
    ("distributed", "dask", r"^\s*(from|import) distributed\b"),
    ("skl2onnx", "onnx", r"^\s*(from|import) skl2onnx\b"),
    ("onnxruntime", "onnx", r"^\s*(from|import) onnxruntime\b"),
]
# Documented but in no extra: a block that imports one runs where it is
# installed.
OPTIONAL_MODULES = ("dask_ml", "mlflow")


def page_names():
    return sorted(
        str(path.relative_to(DOCS))
        for path in DOCS.rglob("*")
        if path.suffix in (".rst", ".md")
        and not NOT_PAGES & set(path.relative_to(DOCS).parts)
    )


# --- finding the blocks ------------------------------------------------------
MD_FENCE = re.compile(
    r"^(?P<fence>`{3,})(?:\{(?P<directive>[\w-]+)\})?[ \t]*(?P<arg>\S*)[^\n]*\n"
    r"(?P<body>.*?)^(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
OPTION = re.compile(r"^[ \t]*:(?P<name>[\w-]+):[ \t]*(?P<value>.*)$", re.MULTILINE)
RST_DIRECTIVE = re.compile(r"(?P<indent>[ \t]*)\.\. (?P<name>[\w-]+):: ?(?P<arg>.*)")
CODE_DIRECTIVES = {"code-block", "code", "sourcecode"}
PYTHON = {"python", "python3", "py"}


def python_blocks(path, text=None):
    """The Python blocks of the page (or included part) at ``path``, in order."""
    text = path.read_text(encoding="utf-8") if text is None else text
    if path.suffix == ".md":
        return _markdown_blocks(path, text)
    return _rst_blocks(path, text)


def _markdown_blocks(path, text):
    blocks = []
    for match in MD_FENCE.finditer(text):
        directive, arg, body = match["directive"], match["arg"], match["body"]
        if directive == "include":
            options = dict(OPTION.findall(body))
            blocks += _included_blocks(path.parent / arg, options, markdown=True)
        elif (directive is None or directive in CODE_DIRECTIVES) and arg in PYTHON:
            blocks.append(body)
    return blocks


def _rst_blocks(path, text):
    lines = text.splitlines(keepends=True)
    blocks, start = [], 0
    while start < len(lines):
        line = lines[start]
        directive = RST_DIRECTIVE.fullmatch(line.rstrip("\n"))
        literal = directive is None and line.rstrip().endswith("::")
        if not (directive or literal):
            start += 1
            continue
        indent = len(line) - len(line.lstrip())
        end = start + 1
        while end < len(lines) and (
            not lines[end].strip()
            or len(lines[end]) - len(lines[end].lstrip()) > indent
        ):
            end += 1
        content = textwrap.dedent("".join(lines[start + 1 : end]))
        options = dict(OPTION.findall(content)) if directive else {}
        body = OPTION.sub("", content).strip("\n") + "\n"
        if literal or (
            directive["name"] in CODE_DIRECTIVES and directive["arg"] in PYTHON
        ):
            blocks.append(body)
        elif directive["name"] == "include":
            markdown = "myst" in options.get("parser", "")
            blocks += _included_blocks(
                path.parent / directive["arg"].strip(), options, markdown
            )
        start = end
    return blocks


def _included_blocks(included, options, markdown):
    """The Python blocks of the part of ``included`` an include directive takes."""
    text = included.read_text(encoding="utf-8")
    for option, keep in (("start-after", 1), ("end-before", 0)):
        if option in options:
            marker = options[option].strip().strip("\"'")
            assert marker in text, f"{included.name} has no {marker!r}"
            text = text.split(marker, 1)[keep]
    suffix = ".md" if markdown or included.suffix == ".md" else ".rst"
    return python_blocks(included.with_suffix(suffix), text)


PAGES_WITH_CODE = {
    name: blocks for name in page_names() if (blocks := python_blocks(DOCS / name))
}


# --- running them ------------------------------------------------------------
def run_page(name, namespace, directory, monkeypatch):
    """Run the page's blocks in order in ``namespace``; returns how many ran."""
    blocks = PAGES_WITH_CODE[name]
    for module, extra, needs in EXTRA_MODULES:
        if any(re.search(needs, code, re.MULTILINE) for code in blocks):
            pytest.importorskip(module, reason=f"{name} needs the {extra} extra")
    monkeypatch.chdir(directory)
    # The MLflow block sets it; monkeypatch unsets it afterwards.
    monkeypatch.delenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", raising=False)
    # The book's loop seeds NumPy's global generator, as the book does.
    saved_state = np.random.get_state()
    ran = 0
    try:
        for code in blocks:
            if any(map(_missing, _imported(code, OPTIONAL_MODULES))):
                continue
            with warnings.catch_warnings():
                # The pages' small epoch budgets end before convergence.
                warnings.simplefilter("ignore", ConvergenceWarning)
                exec(compile(code, str(DOCS / name), "exec"), namespace)
            ran += 1
    finally:
        np.random.set_state(saved_state)
    return ran


def _imported(code, modules):
    return [
        name
        for name in modules
        if re.search(rf"^(from|import) {name}\b", code, re.MULTILINE)
    ]


def _missing(module):
    try:
        __import__(module)
    except ImportError:
        return True
    return False


def _optional_blocks(name):
    return sum(
        any(map(_missing, _imported(code, OPTIONAL_MODULES)))
        for code in PAGES_WITH_CODE[name]
    )


@pytest.fixture(scope="module")
def getting_started(tmp_path_factory):
    """The namespace the getting-started page's blocks leave, and how many ran."""
    namespace = {"__name__": "docs"}
    with pytest.MonkeyPatch.context() as monkeypatch:
        directory = tmp_path_factory.mktemp("getting-started")
        ran = run_page(GETTING_STARTED, namespace, directory, monkeypatch)
    return namespace, ran


# What some pages' blocks compute, to show they did their work.
def check_getting_started(namespace):
    assert len(namespace["epochs"]) == namespace["clf"].n_iter_
    assert namespace["search"].best_params_


def check_mlp(namespace):
    assert "MLPClassifier's name. Use optimizer= instead" in namespace["advice"]


def check_dask(namespace):
    assert namespace["search"].best_params_
    assert namespace["proba"].shape == (len(namespace["X_test"]), 10)


def check_onnx(namespace):
    digits_model, X_digits = namespace["digits_model"], namespace["X_digits"]
    expected_proba = digits_model.predict_proba(X_digits)
    assert np.abs(namespace["onnx_proba"] - expected_proba).max() < 1e-5
    assert (namespace["onnx_labels"] == digits_model.predict(X_digits)).all()


def check_saving(namespace):
    X_test = namespace["X_test"]
    loaded_proba = namespace["loaded_model"].predict_proba(X_test)
    assert (loaded_proba == namespace["saved_model"].predict_proba(X_test)).all()
    if "mlflow_model" in namespace:  # MLflow is installed
        assert namespace["same"].all()


CHECKS = {
    GETTING_STARTED: check_getting_started,
    "user_guide/mlp.md": check_mlp,
    "user_guide/dask.md": check_dask,
    "user_guide/onnx.md": check_onnx,
    "user_guide/saving.md": check_saving,
}


@pytest.mark.parametrize("name", sorted(PAGES_WITH_CODE))
def test_page_python_blocks_run(name, getting_started, tmp_path, monkeypatch):
    start, ran = getting_started
    if name != GETTING_STARTED:
        namespace = dict(start)
        ran = run_page(name, namespace, tmp_path, monkeypatch)
    else:
        namespace = start
    # Every block ran but those of an optional module that is not installed.
    assert ran == len(PAGES_WITH_CODE[name]) - _optional_blocks(name)
    CHECKS.get(name, lambda namespace: None)(namespace)


def test_the_pages_with_code_are_found():
    # The parser finds every kind of block the pages use: fences (.md), the
    # README's quick start through an include, code-block directives and
    # literal blocks (.rst).
    assert set(CHECKS) | {
        "user_guide/from_the_book.rst",
        "user_guide/optimizers.rst",
        "user_guide/regularization.rst",
        "user_guide/early_stopping.rst",
        "user_guide/class_weight.rst",
    } <= set(PAGES_WITH_CODE)
    quick_start = PAGES_WITH_CODE[GETTING_STARTED][0]
    assert "load_digits" in quick_start and "model.fit(X_train, y_train)" in quick_start
    # A code-block, then the literal block after "stops improving::".
    book_loop, estimator = PAGES_WITH_CODE["user_guide/from_the_book.rst"]
    assert book_loop.startswith("import numpy as np")
    assert estimator.startswith("from sknnfs import NNFSClassifier")
    # The formula block of regularization.rst is text, not Python.
    assert all(
        "loss = mean data loss" not in code
        for code in PAGES_WITH_CODE["user_guide/regularization.rst"]
    )


# --- what the pages say ------------------------------------------------------
def page_text(name):
    return (DOCS / name).read_text(encoding="utf-8")


def section(name, heading):
    """The text of the page under the ``## heading`` that starts so, to the next."""
    text = page_text(name).split(f"\n## {heading}", 1)[1]
    return text.split("\n## ", 1)[0]


@pytest.mark.parametrize(
    "name, heading",
    [
        ("user_guide/dask.md", None),
        ("user_guide/reliability.md", "Failures are loud"),
    ],
)
def test_pages_say_loading_a_pickle_runs_code_where_they_offer_pickles(name, heading):
    # As scikit-learn's model persistence page does (issue 11, item 18).
    text = page_text(name) if heading is None else section(name, heading)
    assert re.search(r"pickl", text)
    runs_code = r"loading\s+a\s+pickle(d\s+estimator)?\s+runs\s+code"
    assert re.search(runs_code, text, re.IGNORECASE)


def test_failures_section_names_the_class_weight_errors():
    failures = section("user_guide/reliability.md", "Failures are loud")
    assert re.search(r"a `class_weight` key that is no class\s+raises", failures)
    assert re.search(r"finite\s+and\s+non-negative", failures)


def test_the_development_page_repeats_the_commands_of_ci():
    bash_blocks = [
        match["body"]
        for match in MD_FENCE.finditer(page_text("development.md"))
        if match["arg"] == "bash"
    ]
    commands = bash_blocks[0].splitlines()
    assert commands[-1] == TEST_COMMAND
    ci_script = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    extras_install = commands[0].rsplit(" && ", 1)[1]
    assert extras_install in ci_script.splitlines()
