"""Importing this package registers every Web API method: each module of the package is
imported, so a new controller module registers itself by existing."""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
