"""``python -m cardiotwin``: the same command line as the ``cardiotwin`` console script."""

import sys

from cardiotwin.cli import main

sys.exit(main())
