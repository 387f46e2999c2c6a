"""The koogallery fixtures come from the installed package's pytest plugin; nothing to declare."""
