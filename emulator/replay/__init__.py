"""Record and replay: export a merchant's recorded callbacks as JSON lines, send them again to
another build of its production interface and compare the answers."""
