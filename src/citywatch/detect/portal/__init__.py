"""Detectors for the citizen web portal."""

from citywatch.detect.portal.logins import LoginAbuse, LoginAbuseConfig

__all__ = ["LoginAbuse", "LoginAbuseConfig"]
