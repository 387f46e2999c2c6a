"""Scheduled dial tests of merchants' interfaces (PROTOCOL §11)."""
