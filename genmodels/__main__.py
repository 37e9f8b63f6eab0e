"""``python -m genmodels``: see genmodels/cli/."""

import sys

from genmodels.cli import main

sys.exit(main())
