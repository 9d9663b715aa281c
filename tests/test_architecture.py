"""The package's layout holds: the book, the engine and the glue import what
their role allows, read from each module's import statements.

- the book (`_activations`, `_layers`, `_losses`, `_label_smoothing`,
  `_optimizers`, `_schedules`, `_network`) imports NumPy, the standard
  library's plain modules, each other and the engine's NumPy-only modules
  (`_kernels`, `_memory`); never threads, timers, BLAS limits, scipy or
  scikit-learn;
- `_kernels`, `_memory`, `_target_scaling` (the regressor's target
  standardisation) and `_numeric_encoding` (``numeric_bins``) import only
  NumPy (and functools/math);
- only `_parallel` imports `threading` or `threadpoolctl`, and only the
  training drivers (`_training`, `_lbfgs`) and `_prediction` import
  `_parallel`;
- scikit-learn is imported only by the glue.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sknnfs"

BOOK = {
    "_activations",
    "_layers",
    "_losses",
    "_label_smoothing",
    "_optimizers",
    "_schedules",
    "_network",
}
NUMPY_ENGINE = {"_kernels", "_memory", "_target_scaling", "_numeric_encoding"}
GLUE = {
    "_base",
    "_classifier",
    "_regressor",
    "_callbacks",
    "callbacks",
    "_training",
    "_loop",
    "_lbfgs",
    "_distributed",
    "_prediction",
    "_demo",
    "_doc_links",
    "onnx",
    "_mlp_names",
    "_persistence",
    "_frames",
    "_categories",
}
# What the book may take from the standard library: nothing that runs
# concurrently, times, or reaches outside the process.
BOOK_STANDARD_LIBRARY = {"copy", "functools", "math", "numbers"}


def imported_modules(module_name):
    """Top-level names of every module ``sknnfs.<module_name>`` imports.

    Relative imports of the package's own modules come back as their names
    (``_kernels``); absolute ones as their top-level package (``numpy``).
    Imports inside functions count too.
    """
    tree = ast.parse((PACKAGE / f"{module_name}.py").read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # from . import x / from ._kernels import y
                if node.module:
                    names.add(node.module.split(".")[0])
                else:
                    names.update(alias.name for alias in node.names)
            else:
                names.add(node.module.split(".")[0])
    return names


def package_modules():
    return sorted(path.stem for path in PACKAGE.glob("*.py"))


def test_every_module_has_a_role():
    engine = NUMPY_ENGINE | {"_parallel"}
    unassigned = set(package_modules()) - BOOK - engine - GLUE
    # The package's entry points (python -m sknnfs and its docs command), the
    # docstring text, and the stand-in that lets 0.1 pickles load belong to
    # no layer.
    entry_points = {"__init__", "__main__", "_docs_command"}
    assert unassigned == entry_points | {"_blockwise", "_docstrings"}


@pytest.mark.parametrize("module", sorted(BOOK))
def test_the_book_imports_numpy_and_the_numpy_engine_only(module):
    allowed = {"numpy"} | BOOK | NUMPY_ENGINE | BOOK_STANDARD_LIBRARY
    assert imported_modules(module) - allowed == set()


@pytest.mark.parametrize("module", sorted(NUMPY_ENGINE))
def test_the_numpy_engine_imports_numpy_only(module):
    allowed = {"numpy", "functools", "math"} | NUMPY_ENGINE
    assert imported_modules(module) - allowed == set()


@pytest.mark.parametrize("module", package_modules())
def test_only_parallel_starts_threads_or_limits_blas(module):
    threads = {"threading", "threadpoolctl", "concurrent", "multiprocessing"}
    if module != "_parallel":
        assert imported_modules(module) & threads == set()


@pytest.mark.parametrize("module", package_modules())
def test_only_the_training_and_prediction_drivers_use_parallel(module):
    if module not in {"_training", "_lbfgs", "_prediction"}:
        assert "_parallel" not in imported_modules(module)


@pytest.mark.parametrize("module", package_modules())
def test_only_the_glue_imports_scikit_learn(module):
    if module not in GLUE:
        assert "sklearn" not in imported_modules(module)


def test_the_rules_see_imports():
    # The checks above would pass vacuously if the parser found nothing.
    assert {"numpy", "_kernels"} <= imported_modules("_layers")
    assert {"threading", "threadpoolctl"} <= imported_modules("_parallel")
    assert "sklearn" in imported_modules("_base")
    assert "_parallel" in imported_modules("_prediction")
