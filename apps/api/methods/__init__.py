"""Importing this package registers every Web API method."""

from . import ai, customer, data, key, product  # noqa: F401
