"""python -m urban_plan ... (see urban_plan.cli)."""

import sys

from urban_plan.cli import main

sys.exit(main())
