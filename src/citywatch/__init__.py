"""citywatch: security and public-safety operations for cities.

Ingest every silo, detect attacks and crises, fuse incidents, respond.
"""

__version__ = "0.1.0"
