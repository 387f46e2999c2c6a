"""Open APIs the emulator serves to merchants (PROTOCOL §12)."""
