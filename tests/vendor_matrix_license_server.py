"""Permission-matrix rows for the vendor portal's license-server configurations pages."""

from __future__ import annotations

from .vendor_matrix import Row

ROWS: dict[str, Row] = {}
