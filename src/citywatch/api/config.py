"""The API server's settings (``[api]`` in ``citywatch.toml``), defined with the other settings."""

from citywatch.config import ApiConfig

__all__ = ["ApiConfig"]
