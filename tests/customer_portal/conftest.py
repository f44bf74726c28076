"""Fixtures for the customer-portal tests."""

from .personas import customer_admin_client, customer_reader_client, portal  # noqa: F401
