"""Protocol-free marketplace domain: catalogue, orders, instances and their lifecycle."""
