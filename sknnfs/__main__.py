"""``python -m sknnfs``: the spiral demo (see `sknnfs._demo`).

``python -m sknnfs docs`` builds and opens the documentation instead (see
`sknnfs._docs_command`). The guard keeps importing this module (e.g. by
pytest's doctest collector) from running either.
"""

import sys

from ._demo import main

if __name__ == "__main__":
    if sys.argv[1:2] == ["docs"]:
        from ._docs_command import main as docs_main

        sys.exit(docs_main(sys.argv[2:]))
    sys.exit(main())
