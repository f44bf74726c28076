"""The standalone license server: an on-premises relay between a customer's devices and the
portal, with an answer cache, license files (.skm) and offline floating seats.

Its own distribution (license-server/pyproject.toml): the standard library and `cryptography`,
nothing of the portal, Django, Celery or PyTorch. It runs with no database, cache service or
settings: `license-server --config license-server.json` or `python -m license_server ...`.
"""
