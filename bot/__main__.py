"""``python -m bot`` is the ``baraza`` command."""

import sys

from bot.cli import main

sys.exit(main())
