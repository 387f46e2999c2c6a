"""KooGallery marketplace emulator.

``__version__`` is the one source of the version: pyproject.toml reads it (``dynamic``), the package
metadata carries it, and the server reports it at ``/healthz`` and in the console's footer.
"""

__version__ = "0.2.0.dev0"
