"""One router per capability; each maps requests to its services and nothing more."""
