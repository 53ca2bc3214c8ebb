"""`python -m infra.cli`: the `stds` command without its console script."""

import sys

from infra.cli import main

sys.exit(main())
