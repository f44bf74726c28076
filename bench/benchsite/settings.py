"""The production settings, plus the bench's bare signing view in the URLconf."""

from licensing_portal.settings import *  # noqa: F403

ROOT_URLCONF = "benchsite.urls"
