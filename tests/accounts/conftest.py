"""Fixtures for the accounts tests."""

from ..licensing.keypool import pooled_signing_keys  # noqa: F401
