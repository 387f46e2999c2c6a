"""Enterprises of the joint-operation family and their kit syncs (PROTOCOL §5)."""
