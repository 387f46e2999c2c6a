"""Durable outbox, retry policies, dispatcher and verdicts (PROTOCOL §8, §9)."""
