"""``python -m lastmile``: the ``lastmile`` console command."""

import sys

from lastmile.console import main

sys.exit(main())
