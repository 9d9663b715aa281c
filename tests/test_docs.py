"""The documentation builds without a warning, and the HTML repr links into it.

The build needs the `docs` extra (Sphinx, numpydoc, sphinx-gallery,
myst-parser); without it those tests skip. It runs once for this module, as
``python -m sknnfs docs --no-open`` does it (a scratch copy of docs/,
examples/ and README.md, so that nothing is written into the checkout), with
every example run and Sphinx's warnings as errors. The HTML repr
tests need only scikit-learn.
"""

import os
import re
import subprocess
import sys
from html import escape
from pathlib import Path
from urllib.parse import quote, unquote

import pytest

import sknnfs
from sknnfs import NNFSClassifier, NNFSRegressor
from sknnfs._doc_links import DOCS_URL

REPO_ROOT = Path(__file__).resolve().parent.parent
PUBLIC_NAMES = [name for name in sknnfs.__all__ if name != "__version__"]
EXAMPLES = sorted((REPO_ROOT / "examples").glob("*.py"))
ESTIMATORS = (NNFSClassifier, NNFSRegressor)


def api_page(name):
    """Where the docs put the page of ``sknnfs.<name>``, relative to their root."""
    return f"api/generated/sknnfs.{name}.html"


def _files_under(*directories):
    return {
        path: path.stat().st_mtime_ns
        for directory in directories
        for path in directory.rglob("*")
    }


@pytest.fixture(scope="module")
def html_dir(tmp_path_factory):
    for module in ("sphinx", "numpydoc", "sphinx_gallery", "myst_parser"):
        pytest.importorskip(
            module, reason=f"the docs build needs {module} (the docs extra)"
        )
    html = tmp_path_factory.mktemp("docs") / "html"
    env = dict(os.environ)
    env["MPLBACKEND"] = "Agg"
    # `python -m sknnfs` of this checkout, whatever else is installed.
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])]
    )
    checkout = _files_under(REPO_ROOT / "docs", REPO_ROOT / "examples")
    # The user's command, building a scratch copy of the sources, with Sphinx's
    # warnings as errors.
    command = [sys.executable, "-m", "sknnfs", "docs", "--no-open"]
    command += ["--output", str(html), "--", "-W", "--keep-going"]
    completed = subprocess.run(
        command,
        cwd=tmp_path_factory.mktemp("cwd"),
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr
    assert completed.stdout.strip().endswith(str((html / "index.html").resolve()))
    # Nothing was written into the checkout.
    assert _files_under(REPO_ROOT / "docs", REPO_ROOT / "examples") == checkout
    return html


def test_docs_build_without_warnings(html_dir):
    assert (html_dir / "index.html").is_file()


@pytest.mark.parametrize("name", PUBLIC_NAMES)
def test_every_public_name_has_a_page(html_dir, name):
    page = html_dir / api_page(name)
    assert page.is_file()
    assert f'id="sknnfs.{name}"' in page.read_text(encoding="utf-8")


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda path: path.name)
def test_every_example_is_in_the_gallery(html_dir, script):
    page = (html_dir / "auto_examples" / script.name).with_suffix(".html")
    assert page.is_file()
    if "savefig(" in script.read_text(encoding="utf-8"):
        # The picture the example writes is shown (docs/_ext/written_images.py).
        picture = f"sphx_glr_{script.stem}_001.png"
        assert picture in page.read_text(encoding="utf-8")
        assert (html_dir / "_images" / picture).is_file()


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_doc_links_lead_to_the_built_pages(html_dir, estimator):
    page_url = estimator()._get_doc_link()
    assert page_url.startswith(DOCS_URL)
    page = html_dir / page_url.removeprefix(DOCS_URL)
    assert page.is_file()
    text = page.read_text(encoding="utf-8")
    # Each parameter link's text fragment ("name,-type") is the page's text:
    # the name in bold, then its type.
    html_repr = estimator()._repr_html_()
    fragments = re.findall(re.escape(page_url) + r'#:~:text=([^"]+)"', html_repr)
    assert fragments
    for fragment in fragments:
        name, param_type = (unquote(part) for part in fragment.split(",-", 1))
        entry = (
            f'<strong>{escape(name, quote=False)}</strong><span class="classifier">'
            f"{escape(param_type, quote=False)}</span>"
        )
        assert entry in text


# scikit-learn links a parameter only from a "name : type" line of its own:
# every parameter of both estimators must have one.
def repr_cases():
    return [
        pytest.param(estimator, name, id=f"{estimator.__name__}-{name}")
        for estimator in ESTIMATORS
        for name in estimator().get_params()
    ]


def test_html_repr_links_to_the_estimator_page():
    for estimator in ESTIMATORS:
        page_url = DOCS_URL + api_page(estimator.__name__)
        assert estimator()._get_doc_link() == page_url
        assert f'href="{page_url}"' in estimator()._repr_html_()


@pytest.mark.parametrize("estimator, name", repr_cases())
def test_html_repr_links_each_parameter_to_its_entry(estimator, name):
    page_url = DOCS_URL + api_page(estimator.__name__)
    html_repr = estimator()._repr_html_()
    assert f'href="{page_url}#:~:text={quote(name)},-' in html_repr


def readme_links():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    return sorted(set(re.findall(re.escape(DOCS_URL) + r"[^\s)>]*", readme)))


@pytest.mark.parametrize("link", readme_links())
def test_readme_links_lead_to_built_pages(html_dir, link):
    page, _, anchor = link.removeprefix(DOCS_URL).partition("#")
    page = html_dir / (page or "index.html")
    assert page.is_file()
    if anchor:
        assert f'id="{anchor}"' in page.read_text(encoding="utf-8")
