"""``python -m sknnfs docs``: what it builds, where, what it opens, and its errors.

The build itself (into a scratch directory, ``--no-open``, Sphinx's warnings
as errors) is the one tests/test_docs.py makes and checks; here the build is
replaced where only the command's own logic is under test.
"""

import re
import runpy
import sys
from pathlib import Path

import pytest

from sknnfs import __version__, _docs_command
from sknnfs._doc_links import DOCS_URL

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def docs_extra(monkeypatch):
    """Let the command go on as if the docs extra were installed."""
    monkeypatch.setattr(_docs_command, "missing_modules", list)


@pytest.fixture
def builds(monkeypatch, docs_extra):
    """Replace the Sphinx build: record each call, write an index.html."""
    calls = []

    def fake_build(root, output, sphinx_args=()):
        calls.append((root, output, list(sphinx_args)))
        output.mkdir(parents=True)
        (output / "index.html").write_text("<html></html>", encoding="utf-8")
        return 0

    monkeypatch.setattr(_docs_command, "build_docs", fake_build)
    return calls


@pytest.fixture
def opened(monkeypatch):
    """Replace the browser: record the addresses it is asked to open."""
    addresses = []
    monkeypatch.setattr(
        _docs_command.webbrowser, "open", lambda url: addresses.append(url)
    )
    return addresses


def test_builds_the_clone_into_output_then_opens_its_index(
    tmp_path, builds, opened, capsys
):
    output = tmp_path / "html"
    status = _docs_command.main(["--output", str(output), "--", "-W", "--keep-going"])
    assert status == 0
    assert builds == [(REPO_ROOT, output, ["-W", "--keep-going"])]
    index = output.resolve() / "index.html"
    assert opened == [index.as_uri()]
    assert str(index) in capsys.readouterr().out


def test_no_open_only_builds(tmp_path, builds, opened):
    assert _docs_command.main(["--no-open", "--output", str(tmp_path / "h")]) == 0
    assert len(builds) == 1
    assert opened == []


def test_without_output_it_builds_into_the_users_cache(
    tmp_path, monkeypatch, builds, opened
):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert _docs_command.main(["--no-open"]) == 0
    assert builds[0][1] == tmp_path / "sknnfs" / f"docs-{__version__}"


@pytest.mark.parametrize(
    "platform, variable, expected_base",
    [
        ("linux", "XDG_CACHE_HOME", "{value}"),
        ("linux", None, "{home}/.cache"),
        ("darwin", None, "{home}/Library/Caches"),
        ("win32", "LOCALAPPDATA", "{value}"),
        ("win32", None, "{home}/AppData/Local"),
    ],
)
def test_default_output_is_a_per_version_cache_directory(
    tmp_path, monkeypatch, platform, variable, expected_base
):
    home, value = tmp_path / "home", tmp_path / "cache"
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setattr(Path, "home", lambda: home)
    for name in ("XDG_CACHE_HOME", "LOCALAPPDATA"):
        monkeypatch.delenv(name, raising=False)
    if variable:
        monkeypatch.setenv(variable, str(value))
    base = Path(expected_base.format(home=home, value=value))
    assert _docs_command.default_output() == base / "sknnfs" / f"docs-{__version__}"


def test_without_the_docs_extra_it_names_the_extra(tmp_path, monkeypatch, capsys):
    # A module set to None in sys.modules cannot be imported.
    monkeypatch.setitem(sys.modules, "sphinx", None)
    monkeypatch.setattr(_docs_command, "build_docs", pytest.fail)
    output = tmp_path / "html"
    assert _docs_command.main(["--no-open", "--output", str(output)]) == 1
    message = capsys.readouterr().err
    assert "docs extra" in message
    assert re.search(r"\(sphinx(, \w+)* missing\)", message)
    assert 'python -m pip install -e ".[docs]"' in message
    assert DOCS_URL in message
    assert not output.exists()


def test_an_installed_package_without_sources_points_at_the_site(
    tmp_path, monkeypatch, docs_extra, capsys
):
    monkeypatch.setattr(_docs_command, "SOURCE_ROOT", tmp_path)
    monkeypatch.setattr(_docs_command, "build_docs", pytest.fail)
    assert _docs_command.main(["--no-open", "--output", str(tmp_path / "h")]) == 1
    message = capsys.readouterr().err
    assert "come with a clone of sknnfs" in message
    assert DOCS_URL in message


def test_a_failed_build_opens_nothing(
    tmp_path, monkeypatch, docs_extra, opened, capsys
):
    monkeypatch.setattr(_docs_command, "build_docs", lambda *args: 2)
    assert _docs_command.main(["--output", str(tmp_path / "h")]) == 2
    assert opened == []
    assert "Sphinx failed (exit status 2)" in capsys.readouterr().err


@pytest.mark.parametrize("absent", ["docs/conf.py", "examples", "README.md"])
def test_sources_are_a_clone_with_docs_examples_and_readme(tmp_path, absent):
    (tmp_path / "docs").mkdir()
    (tmp_path / "examples").mkdir()
    (tmp_path / "docs" / "conf.py").write_text("", encoding="utf-8")
    (tmp_path / "README.md").write_text("", encoding="utf-8")
    assert _docs_command.find_sources(tmp_path) == tmp_path
    target = tmp_path / absent
    target.rmdir() if target.is_dir() else target.unlink()
    assert _docs_command.find_sources(tmp_path) is None


def test_this_checkout_is_found():
    assert _docs_command.find_sources() == REPO_ROOT


@pytest.mark.parametrize(
    "argv, usage",
    [
        (["docs", "--help"], "usage: python -m sknnfs docs"),
        (["--help"], "--samples"),  # the demo's
    ],
)
def test_python_m_sknnfs_dispatches_docs_and_leaves_the_demo_alone(
    monkeypatch, capsys, argv, usage
):
    monkeypatch.setattr(sys, "argv", ["sknnfs", *argv])
    # runpy warns when the module it runs as __main__ was imported already.
    monkeypatch.delitem(sys.modules, "sknnfs.__main__", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_module("sknnfs", run_name="__main__")
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    assert usage in help_text
    assert ("--no-open" in help_text) == (argv[0] == "docs")
