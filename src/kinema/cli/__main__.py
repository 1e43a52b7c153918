"""`python -m kinema.cli ...`, the same as the `kinema` console script."""

import sys

from kinema.cli import main

sys.exit(main())
