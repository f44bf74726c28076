"""The object log: who changed what in a vendor's data, append-only (models, log_change)."""
