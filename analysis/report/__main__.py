"""``python -m analysis.report``: the same as ``python -m analysis report``."""

import sys

from ..pipeline import report_main

sys.exit(report_main())
