"""``python -m contracts`` runs the ``r360-webhooks`` command line."""

import sys

from contracts.cli import main

sys.exit(main())
