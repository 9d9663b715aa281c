"""A sphinx-gallery image scraper for the pictures the examples write.

The examples draw on a `matplotlib.figure.Figure` of their own (no pyplot) and
save it as ``<example name>.png`` in the working directory, which during the
gallery build is the examples' folder. sphinx-gallery's matplotlib scraper only
sees pyplot's figures, so this scraper takes that file instead: after each code
block, a ``<example name>.png`` written during the build is moved to
the gallery's image path and shown below the block.

conf.py names it as ``"written_images.scrape"`` (a string, so that Sphinx can
pickle the configuration and reuse its environment).
"""

import os
import shutil
import time
from pathlib import Path

from sphinx_gallery.scrapers import figure_rst

# A picture older than the build was not written by it (e.g. left in the
# examples' folder by running a script by hand): it is neither shown nor moved.
# File times come from a coarser clock than time.time(), hence the margin.
_BUILD_START = time.time() - 1.0


def scrape(block, block_vars, gallery_conf):
    """Move the example's new ``<name>.png`` into the gallery, return its rST."""
    picture = Path(block_vars["src_file"]).with_suffix(".png")
    if not picture.is_file() or os.path.getmtime(picture) < _BUILD_START:
        return ""
    image_path = block_vars["image_path_iterator"].next()
    shutil.move(picture, image_path)
    return figure_rst([image_path], gallery_conf["src_dir"])
