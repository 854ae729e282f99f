"""The arena of the synthetic city: its layout (``arena.yaml``), a match day, its sensors."""
