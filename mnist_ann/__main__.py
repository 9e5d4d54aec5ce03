"""`python -m mnist_ann` runs the command line (the application in mnist_ann.app)."""

import sys

from mnist_ann.app.cli import main

sys.exit(main())
