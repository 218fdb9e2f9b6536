"""Intake: files to validated records in the store, the rest to quarantine."""
