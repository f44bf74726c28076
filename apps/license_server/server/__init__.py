"""The standalone license server: an on-premises relay between a customer's devices and the
portal, with an answer cache, license files (.skm) and offline floating seats.

This package imports nothing from Django, so it runs with the project installed and no
database, cache service or settings (`license-server --config license-server.json`, or
`python manage.py license_server`, which only hands its arguments over). Only `cryptography`
is needed beyond the standard library.
"""
