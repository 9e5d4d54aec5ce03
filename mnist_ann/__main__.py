"""`python -m mnist_ann` runs the command line."""

import sys

from mnist_ann.cli import main

sys.exit(main())
