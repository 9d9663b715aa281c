"""``python -m sknnfs docs``: build the documentation with Sphinx and open it.

The pages are those of the published site (`DOCS_URL`), built from the
sources a clone holds: ``docs/``, ``examples/`` (the gallery runs them) and
``README.md`` (the pages include parts of it). An installed package has none
of them; without them, or without the ``docs`` extra, the
command says so and names the published site.

The build writes generated pages next to its sources, so it builds a scratch
copy of them and nothing is written into the clone. The HTML goes into a
per-version directory of the user's cache, or the one given with
``--output``; arguments after ``--`` go to Sphinx (``-- -W --keep-going``
is the build of ``tests/test_docs.py``).
"""

import argparse
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import webbrowser
from pathlib import Path

from . import __version__
from ._doc_links import DOCS_URL

__all__ = ["build_docs", "default_output", "find_sources", "main", "missing_modules"]

# What the build imports: the docs extra (matplotlib draws the gallery's
# pictures).
DOCS_EXTRA_MODULES = (
    "sphinx",
    "numpydoc",
    "sphinx_gallery",
    "myst_parser",
    "matplotlib",
)
# The root of a clone when sknnfs is imported from one (an editable install,
# or the clone on the path).
SOURCE_ROOT = Path(__file__).resolve().parent.parent
# Written into docs/ and examples/ by a build in place: never copied.
GENERATED = ("_build", "auto_examples", "generated", "sg_execution_times.rst")
EXAMPLE_OUTPUTS = ("*.png", "__pycache__")


def missing_modules():
    """The modules of the docs extra that cannot be imported, in order.

    Returns
    -------
    missing : list of str
    """
    missing = []
    for name in DOCS_EXTRA_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def find_sources(root=None):
    """The clone whose ``docs/``, ``examples/`` and ``README.md`` to build.

    Parameters
    ----------
    root : path-like, default=None
        Where to look; by default the directory that holds the imported
        ``sknnfs`` package.

    Returns
    -------
    root : Path or None
        None when ``root`` lacks one of them (an installed package).
    """
    root = SOURCE_ROOT if root is None else Path(root)
    complete = (
        (root / "docs" / "conf.py").is_file()
        and (root / "examples").is_dir()
        and (root / "README.md").is_file()
    )
    return root if complete else None


def default_output():
    """Where the HTML goes without ``--output``: the user's cache, per version.

    ``%LOCALAPPDATA%`` on Windows, ``~/Library/Caches`` on macOS, otherwise
    ``$XDG_CACHE_HOME`` or ``~/.cache``; then ``sknnfs/docs-<version>``.

    Returns
    -------
    output : Path
    """
    if sys.platform == "win32":
        cache = os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local"
    elif sys.platform == "darwin":
        cache = Path.home() / "Library" / "Caches"
    else:
        cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "sknnfs" / f"docs-{__version__}"


def build_docs(root, output, sphinx_args=()):
    """Build the HTML pages of the clone ``root`` into ``output`` with Sphinx.

    Parameters
    ----------
    root : path-like
        A clone, as `find_sources` returns it.
    output : path-like
        The HTML directory; made if needed, its pages overwritten.
    sphinx_args : sequence of str, default=()
        More arguments for ``python -m sphinx``, e.g. ``("-W",)``.

    Returns
    -------
    status : int
        Sphinx's exit status: 0 when the pages were built.
    """
    root = Path(root)
    with tempfile.TemporaryDirectory(prefix="sknnfs-docs-") as scratch:
        scratch = Path(scratch)
        shutil.copytree(
            root / "docs", scratch / "docs", ignore=shutil.ignore_patterns(*GENERATED)
        )
        shutil.copytree(
            root / "examples",
            scratch / "examples",
            ignore=shutil.ignore_patterns(*EXAMPLE_OUTPUTS),
        )
        shutil.copy(root / "README.md", scratch / "README.md")
        env = dict(os.environ)
        # The gallery runs the examples for the pictures they save, never
        # to show a window.
        env.setdefault("MPLBACKEND", "Agg")
        # The API pages document this clone's sknnfs, whatever else is
        # installed.
        env["PYTHONPATH"] = os.pathsep.join(
            [str(root), *filter(None, [env.get("PYTHONPATH")])]
        )
        command = [sys.executable, "-m", "sphinx", "-b", "html"]
        command += ["-d", str(scratch / "doctrees"), *sphinx_args]
        command += [str(scratch / "docs"), str(output)]
        return subprocess.run(command, cwd=scratch, env=env, check=False).returncode


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m sknnfs docs",
        description=(
            "Build the sknnfs documentation with Sphinx (the docs extra) from "
            "the sources of a clone, and open it in a browser. Published at "
            f"{DOCS_URL}"
        ),
        epilog="Arguments after -- go to Sphinx, e.g. -- -W --keep-going.",
    )
    parser.add_argument(
        "--output",
        type=Path,
        metavar="DIR",
        help=f"the HTML directory (default: {default_output()})",
    )
    parser.add_argument(
        "--no-open", action="store_true", help="only build; open no browser"
    )
    return parser


def main(argv=None):
    """Entry point of ``python -m sknnfs docs``; returns the exit status.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments after ``docs``; by default ``sys.argv[2:]``.
    """
    argv = list(sys.argv[2:] if argv is None else argv)
    sphinx_args = []
    if "--" in argv:
        split = argv.index("--")
        argv, sphinx_args = argv[:split], argv[split + 1 :]
    args = _parser().parse_args(argv)
    missing = missing_modules()
    if missing:
        print(
            f"Building the documentation needs the docs extra ({', '.join(missing)} "
            'missing): python -m pip install -e ".[docs]" in a clone of sknnfs. '
            f"Or read it at {DOCS_URL}",
            file=sys.stderr,
        )
        return 1
    root = find_sources()
    if root is None:
        print(
            "The documentation's sources (docs/, examples/, README.md) come with "
            f"a clone of sknnfs, not with the installed package in {SOURCE_ROOT}. "
            f"Read it at {DOCS_URL}, or run this command in a clone.",
            file=sys.stderr,
        )
        return 1
    output = default_output() if args.output is None else args.output
    status = build_docs(root, output, sphinx_args)
    if status != 0:
        print(f"Sphinx failed (exit status {status}).", file=sys.stderr)
        return status
    index = (output / "index.html").resolve()
    print(f"The documentation: {index}")
    if not args.no_open:
        webbrowser.open(index.as_uri())
    return 0
