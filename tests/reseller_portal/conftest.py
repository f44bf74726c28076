"""Fixtures for the reseller-portal tests."""

from .personas import reseller_client, resellers, rival_client  # noqa: F401
