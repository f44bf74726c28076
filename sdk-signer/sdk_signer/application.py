"""Which application is running: what an SDK verifies when it is not told."""

from __future__ import annotations

import sys
from pathlib import Path


def entry_application() -> Path:
    """The application that started this process, as the developer signed it: the folder of
    the top-level package run with `python -m package`, else the script run (`python app.py`,
    or a console script). Like Cryptolens' .NET verifier, which checks the entry assembly, it
    is the program itself and not the caller: another library wrapped around the SDK cannot
    stand in for a signed application."""
    main = sys.modules.get("__main__")
    main_file = getattr(main, "__file__", None)
    if main_file is None:
        raise LookupError("this process runs no application file (an interactive session?)")
    path = Path(main_file).resolve()
    spec = getattr(main, "__spec__", None)
    if spec is not None and "." in (spec.name or ""):  # python -m package[.module]
        top = spec.name.split(".")[0]
        for parent in path.parents:
            if parent.name == top:
                return parent
    return path
