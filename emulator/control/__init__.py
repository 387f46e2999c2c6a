"""JSON control API under /sandbox/api/v1/ for tests, scripts and the console."""
