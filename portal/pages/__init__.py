"""The portal's pages, one module per journey; ``base`` is their frame."""
