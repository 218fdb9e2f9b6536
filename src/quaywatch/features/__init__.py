"""Features for risk assessment, computed as of the assessment time (leak-free)."""
