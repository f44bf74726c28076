"""Fixtures for the customer-portal tests."""

from .personas import admin_client, portal, reader_client  # noqa: F401
