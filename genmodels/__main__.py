"""``python -m genmodels``: see genmodels/cli.py."""

import sys

from genmodels.cli import main

sys.exit(main())
