"""What portal.aldmere.city serves: pages, assets, their sizes, and what citizens write into it.

Complaint texts are the honest kind that trip naive detectors: they mention
``select``, ``drop``, ``union``, ``script``, ``<3`` and ``1=1`` in plain
language, and addresses contain apostrophes.
"""

from __future__ import annotations

from typing import Final

# (path, Accept kind, bytes) fetched on a first page view; later views hit the cache.
ASSETS: Final = (
    ("/static/css/portal.3f9a1c.css", "css", 48_211),
    ("/static/js/runtime.8b1e02.js", "js", 2_140),
    ("/static/js/vendor.a41f7c.js", "js", 187_452),
    ("/static/js/app.5c2d9e.js", "js", 64_980),
    ("/static/fonts/inter-var.woff2", "font", 98_316),
    ("/static/img/aldmere-crest.svg", "img", 9_812),
    ("/favicon.ico", "img", 15_086),
)
HERO_IMAGES: Final = (
    "/static/img/hero/stari-grad-dusk.webp",
    "/static/img/hero/riverside-market.webp",
    "/static/img/hero/tram-line-6.webp",
)
# Typical body sizes of rendered pages (bytes); responses vary a little around them.
SIZE: Final = {
    "/": 21_480,
    "/login": 6_120,
    "/login-failed": 6_388,
    "/account": 14_230,
    "/tax": 11_902,
    "/tax/return": 9_410,
    "/tax/file": 12_760,
    "/address": 8_870,
    "/address/confirmation": 5_210,
    "/traffic": 16_340,
    "/traffic/incidents": 12_870,
    "/traffic/cameras": 23_990,
    "/alerts": 13_450,
    "/alerts/feed.atom": 18_722,
    "/documents": 10_340,
    "/complaints/new": 9_020,
    "/complaints/thanks": 4_880,
    "/news": 15_600,
    "/password/reset": 5_330,
    "/404": 3_912,
    "/robots.txt": 212,
    "/sitemap.xml": 8_405,
    "redirect": 154,
}
PUBLIC: Final = ("/", "/alerts", "/traffic", "/traffic/cameras", "/news", "/services", "/contact")
NEWS: Final = (
    "/news/2026/03/tram-line-6-works-extended",
    "/news/2026/03/spring-bulky-waste-collection",
    "/news/2026/03/new-cycle-lanes-savska",
    "/news/2026/02/flood-defence-drill-riverside",
    "/news/2026/02/district-council-elections",
    "/news/2026/01/winter-gritting-report",
)
# Old links still out there in bookmarks, search results and other sites.
STALE: Final = (
    "/en/e-services/parking-permits",
    "/news/2019/winter-gritting-schedule",
    "/portal/login.aspx",
    "/eUprava/index.jsp",
    "/traffic/incidents.php",
    "/static/js/app.1b2c3d.js",
    "/documents/2023/budget-summary.pdf",
    "/alerts/rss.xml",
)
EXTERNAL_REFERERS: Final = (
    "https://www.google.com/",
    "https://www.google.com/",
    "https://www.google.hr/",
    "https://www.bing.com/",
    "https://duckduckgo.com/",
    "https://aldmere.city/",
    "https://aldmere.city/en/services",
    "https://www.facebook.com/",
    "https://herald.aldmere.city/2026/03/13/tram-line-6/",
)
COMPLAINT_CATEGORIES: Final = ("roads", "lighting", "waste", "noise", "parking", "transport", "web")
COMPLAINTS: Final = (
    "Please select a date for the bulky waste pickup, the form keeps resetting to Monday.",
    "Water pressure drops every evening on Ilica; the union rep at the depot told me to file it.",
    "Street light at O'Brien Square has been out for two weeks <3 thanks for fixing the last one!",
    "Cars park on the cycle lane every morning. 1=1 is obvious to anyone who walks here.",
    "Your app's script crashes when I upload a photo; the drop-down for district is empty.",
    "Bus 14 skipped our stop again -- third time this week; please delete my old complaint #4410.",
    "Noise from the bar 'Kod Đure' until 3am; OR could the police just check once?",
    "I'd like to select the Friday slot; the Sunday one doesn't work for us.",
    "Die Straßenbeleuchtung in der Müllerstraße ist seit Tagen defekt – bitte prüfen.",
    "Graffiti on the wall at Šoštarićeva 12 -- someone sprayed a <script> tag, ironic for a dev.",
    "Pothole on Savska cesta near no. 41, drop of ~10 cm; a cyclist fell yesterday.",
    "Union Street crossing: the pedestrian light is green for only 6 s. Select longer please.",
    "Bins missed again in Gornja Vas. The table of dates on the site says Tuesday; it's wrong.",
    "Ne radi semafor kod Trga bana Jelačića, molim hitno popraviti.",
    "Çöp kutusu taşıyor, lütfen boşaltın. (Yıldız Sokağı 7)",
    "Thank you for the new benches in Riverside park <3 <3",
    "Parking signs say 'max 2h' but the app says 3h; which one is right? Drop the fine please.",
    "Tree branch hanging over the tram wires at Vlaška 88; it's been there since the storm.",
)
TAX_NOTES: Final = (
    "",
    "",
    "Refund for childcare costs, receipts attached.",
    "Correction of my 2024 return; see letter ref. 2025/118.",
    "Povrat poreza – uzdržavani član obitelji.",
    "Home office expenses 50% (part-time).",
    "Student – first return; is 'rent' deductible?",
    "Rückerstattung Pendlerpauschale.",
)
API_GETS: Final = (
    ("/api/v1/me", 1_240),
    ("/api/v1/alerts?since={since}", 3_860),
    ("/api/v1/traffic/incidents?district={district}", 5_420),
    ("/api/v1/tax/returns", 2_210),
    ("/api/v1/documents", 1_930),
    ("/api/v1/notifications?unread=true", 880),
    ("/api/v1/traffic/cameras?district={district}", 2_940),
)
