"""``python -m model`` is the ``capex`` command."""

import sys

from .cli import main

sys.exit(main())
