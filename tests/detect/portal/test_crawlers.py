"""A crawler's name checked against the addresses its operator publishes."""

from __future__ import annotations

import pytest

from citywatch.detect.portal.crawlers import CrawlerRanges, search_crawler

GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
BINGBOT = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"
YANDEX = "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)"


@pytest.mark.parametrize(
    ("agent", "address", "is_forged"),
    [
        (GOOGLEBOT, "66.249.66.1", False),  # inside Google's published ranges
        (GOOGLEBOT, "2001:4860:4801:10::1", False),  # IPv6 too
        (GOOGLEBOT, "203.0.113.66", True),
        (GOOGLEBOT, "66.249.79.100", True),  # between two published /27s, in neither
        (GOOGLEBOT, "not an address", True),
        (GOOGLEBOT, "::ffff:66.249.66.1", False),  # IPv4 as a dual-stack server logs it
        (GOOGLEBOT, "::ffff:203.0.113.66", True),
        # a longer name of a crawler checked by DNS only (or not at all) beside Googlebot's
        (f"{GOOGLEBOT} Baiduspider", "203.0.113.66", True),
        (f"{GOOGLEBOT} (Screaming Frog SEO Spider)", "203.0.113.66", True),
        (BINGBOT, "40.77.167.1", False),
        (BINGBOT, "66.249.66.1", True),  # Google's address is no Bing crawler's
        (YANDEX, "203.0.113.66", False),  # checked by reverse DNS only: taken at its word
        ("Mozilla/5.0 (X11; Linux x86_64) Firefox/135.0", "203.0.113.66", False),
        (GOOGLEBOT, None, False),  # nothing to check
    ],
)
def test_a_crawler_name_from_outside_its_operators_ranges_is_forged(
    agent: str, address: str | None, is_forged: bool
) -> None:
    assert CrawlerRanges().forged(agent, address) is is_forged


def test_search_crawlers_are_named_as_their_operators_spell_them() -> None:
    assert search_crawler(GOOGLEBOT) == "Googlebot"
    assert search_crawler(YANDEX) == "YandexBot"
    assert search_crawler("Mozilla/5.0 (compatible; AhrefsBot/7.0)") is None  # no search engine
    assert search_crawler(None) is None
