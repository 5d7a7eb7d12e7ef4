"""``python -m contracts.cli`` runs the ``r360-webhooks`` command line, as ``python -m contracts``
does (both are names a user may guess)."""

import sys

from contracts.cli import main

sys.exit(main())
