"""Social media and news: high-risk events found in public posts, placed on the city map."""

from citywatch.detect.social.config import SocialConfig
from citywatch.detect.social.events import SocialEvents

__all__ = ["SocialConfig", "SocialEvents"]
