"""`python -m license_server ...`: the same as the `license-server` command."""

import sys

from .cli import main

sys.exit(main())
