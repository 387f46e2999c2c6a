"""Merchant certification: one battery of cases, run against a merchant interface, reported."""
