"""OAuth unified login as the marketplace serves it (PROTOCOL §13)."""
