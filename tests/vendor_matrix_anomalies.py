"""Permission-matrix rows for the vendor portal's anomaly findings and the anomaly model pages."""

from __future__ import annotations

from .vendor_matrix import Row

ROWS: dict[str, Row] = {}
