"""Client programs of the synthetic city: User-Agent strings and the headers each sends.

Browsers, the Aldmere City mobile app, crawlers, feed readers and attack tools
each send a characteristic header set in a characteristic order; HTTP/2
clients send lower-case names. :func:`headers` rebuilds a request's headers
from its :class:`~citywatch.simulate.records.Hit`.
"""

from __future__ import annotations

from random import Random
from typing import Final

from citywatch.simulate.records import HOST, ORIGIN, Agent, Hit

DESKTOP: Final = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/133.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/132.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/133.0.0.0 Safari/537.36 Edg/133.0.0.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:135.0) Gecko/20100101 Firefox/135.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.3 Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/133.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:135.0) Gecko/20100101 Firefox/135.0",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:134.0) Gecko/20100101 Firefox/134.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
)
MOBILE: Final = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/133.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_3 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.3 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/27.0 Chrome/125.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Android 14; Mobile; rv:135.0) Gecko/135.0 Firefox/135.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) CriOS/133.0.6943.33 Mobile/15E148 Safari/604.1",
)
APP_ANDROID: Final = "AldmereCity/{v} (Android {os}; {model}; build {b}) okhttp/4.12.0"
APP_IOS: Final = "AldmereCity/{b} CFNetwork/1568.300.101 Darwin/24.3.0"
_APP_VERSIONS: Final = (("4.2.1", "4210"), ("4.2.0", "4200"), ("4.1.3", "4130"))
_ANDROID_MODELS: Final = ("SM-A546B", "Pixel 8", "SM-S921B", "2201117TG", "CPH2591", "moto g54")

GOOGLEBOT: Final = Agent(
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; "
    "+http://www.google.com/bot.html) Chrome/133.0.6943.53 Safari/537.36",
    "bot",
)
CRAWLERS: Final = (
    GOOGLEBOT,
    Agent("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot"),
    Agent("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "bot"),
    Agent("Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", "bot"),
    Agent("DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)", "bot"),
)
FEEDS: Final = (
    Agent("Feedly/1.0 (+https://feedly.com/poller.html; 14 subscribers; )", "feed"),
    Agent("Tiny Tiny RSS/24.12 (https://tt-rss.org/)", "feed"),
    Agent("AldmereHerald-Ingest/2.1 (+https://herald.aldmere.city/bots)", "feed"),
    Agent("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.7.0", "feed"),
)
MONITOR: Final = Agent(
    "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)", "monitor"
)

_ACCEPT: Final = {
    "html": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
    "pdf": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
    "css": "text/css,*/*;q=0.1",
    "js": "*/*",
    "font": "*/*",
    "img": "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
    "json": "application/json, text/plain, */*",
    "atom": "application/atom+xml,application/xml;q=0.9,*/*;q=0.8",
    "any": "*/*",
}
_H1_NAMES: Final = (
    "Host",
    "User-Agent",
    "Accept",
    "Accept-Language",
    "Accept-Encoding",
    "Referer",
    "Cookie",
    "Origin",
    "Content-Type",
    "Content-Length",
)
_H2: Final = {name: name.lower() for name in _H1_NAMES}


def browser(rng: Random, mobile: bool, lang: str) -> Agent:
    """A desktop or mobile web browser; most speak HTTP/2."""
    ua = rng.choice(MOBILE if mobile else DESKTOP)
    return Agent(ua, "browser", lang, h2=rng.random() < 0.7)


def app(rng: Random, lang: str) -> Agent:
    """The Aldmere City app on Android or iOS."""
    version, build = rng.choice(_APP_VERSIONS)
    if rng.random() < 0.55:
        os = rng.choice(("13", "14", "15"))
        ua = APP_ANDROID.format(v=version, os=os, model=rng.choice(_ANDROID_MODELS), b=build)
    else:
        ua = APP_IOS.format(b=build)
    return Agent(ua, "app", lang)


def _content(hit: Hit, body: str) -> list[tuple[str, str]]:
    return [("Content-Type", hit.ctype), ("Content-Length", str(len(body.encode())))]


def _browser(hit: Hit, body: str) -> list[tuple[str, str]]:
    agent = hit.agent
    out = [("Host", HOST), ("User-Agent", agent.ua), ("Accept", _ACCEPT.get(hit.kind, "*/*"))]
    if agent.lang:
        out.append(("Accept-Language", agent.lang))
    out.append(("Accept-Encoding", "gzip, deflate, br, zstd"))
    if body:
        out += _content(hit, body)
        out.append(("Origin", ORIGIN))
    if hit.referer:
        out.append(("Referer", hit.referer))
    if hit.cookie:
        out.append(("Cookie", hit.cookie))
    if agent.h2:
        return [(_H2[name], value) for name, value in out]
    return out


def _app(hit: Hit, body: str) -> list[tuple[str, str]]:
    agent = hit.agent
    out = [("Host", HOST)]
    if hit.auth:
        out.append(("Authorization", f"Bearer {hit.auth}"))
    out.append(("Accept", "application/json"))
    if agent.lang:
        out.append(("Accept-Language", agent.lang))
    if body:
        out += _content(hit, body)
    out += [("Accept-Encoding", "gzip"), ("User-Agent", agent.ua)]
    return out


def _machine(hit: Hit, body: str) -> list[tuple[str, str]]:
    """Crawlers, feed readers, monitors and attack tools."""
    agent = hit.agent
    profile = agent.profile
    ua = ("User-Agent", agent.ua)
    if profile == "sqlmap":
        lead = [
            ("Cache-Control", "no-cache"),
            ua,
            ("Accept", "*/*"),
            ("Accept-Encoding", "gzip,deflate"),
        ]
    elif profile == "script":  # python-requests with a borrowed browser User-Agent
        accept = _ACCEPT["json"] if hit.kind == "json" else "*/*"
        lead = [
            ua,
            ("Accept-Encoding", "gzip, deflate"),
            ("Accept", accept),
            ("Connection", "keep-alive"),
        ]
    elif profile in ("bot", "feed"):
        lead = [("Connection", "keep-alive"), ("Accept", _ACCEPT.get(hit.kind, "*/*"))]
        if profile == "bot":
            lead.append(
                (
                    "From",
                    "bingbot(at)microsoft.com"
                    if "bing" in agent.ua
                    else "googlebot(at)googlebot.com",
                )
            )
        lead += [ua, ("Accept-Encoding", "gzip, deflate, br")]
    else:  # nikto, curl, monitor
        lead = [ua, ("Accept", "*/*")]
        if profile == "nikto":
            lead.append(("Connection", "Keep-Alive"))
    out = [("Host", HOST), *lead]
    if hit.referer:
        out.append(("Referer", hit.referer))
    if hit.cookie:
        out.append(("Cookie", hit.cookie))
    if body:
        out += _content(hit, body)
    if profile == "sqlmap":
        out.append(("Connection", "close"))
    return out


def headers(hit: Hit, body: str) -> list[tuple[str, str]]:
    """The request headers ``hit``'s client sent with ``body``, in the order it sends them."""
    profile = hit.agent.profile
    if profile == "browser":
        return _browser(hit, body)
    if profile == "app":
        return _app(hit, body)
    return _machine(hit, body)
