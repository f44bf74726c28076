"""Fixtures for the licensing tests."""

from .keypool import pooled_signing_keys  # noqa: F401
