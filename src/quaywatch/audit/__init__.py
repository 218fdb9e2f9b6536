"""Tamper-evident audit trail of every import and state change."""
