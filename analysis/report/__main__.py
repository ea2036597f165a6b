"""``python -m analysis.report``: the same as ``python -m analysis report``."""

import sys

from .compose import main

sys.exit(main())
