"""A small phrasebook for public alerts: English, German and Croatian.

Citizens get instructions in their language without a machine-translation
service: each recommended measure an incident carries is matched against the
English phrases here (after normalising case, spacing and final punctuation),
and the sentence is taken in the target language. Measures that match nothing
are *skipped*, not copied: most measures detectors recommend are meant for the
operators ("block the flagged addresses at the reverse proxy") and must not
reach the public. :func:`instruction_for` reports what it skipped so that the
alert officer can see it before approving.

A few phrases take a place name (``Avoid {place}``); names are kept as given
and set apart so that no declension is needed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Final, NamedTuple

from citywatch.respond.errors import RespondError
from citywatch.respond.hazards import primary

LANGUAGES: Final = ("en", "de", "hr")

PHRASES: Final[dict[str, dict[str, str]]] = {
    "avoid_area": {
        "en": "Avoid the affected area.",
        "de": "Meiden Sie das betroffene Gebiet.",
        "hr": "Izbjegavajte pogođeno područje.",
    },
    "leave_area": {
        "en": "Leave the area now.",
        "de": "Verlassen Sie sofort das Gebiet.",
        "hr": "Odmah napustite područje.",
    },
    "follow_officials": {
        "en": "Follow the instructions of the police, stewards and emergency services.",
        "de": "Folgen Sie den Anweisungen von Polizei, Ordnungsdienst und Rettungskräften.",
        "hr": "Slijedite upute policije, redara i hitnih službi.",
    },
    "stay_calm_do_not_push": {
        "en": "Stay calm, do not push and move slowly.",
        "de": "Bleiben Sie ruhig, drängeln Sie nicht und bewegen Sie sich langsam.",
        "hr": "Ostanite mirni, ne gurajte se i krećite se polako.",
    },
    "use_other_exits": {
        "en": "Use the other exits and do not walk towards the crowded area.",
        "de": "Nutzen Sie die anderen Ausgänge und gehen Sie nicht in den überfüllten Bereich.",
        "hr": "Koristite druge izlaze i ne idite prema prepunom području.",
    },
    "do_not_travel_to_venue": {
        "en": "Do not travel to the venue.",
        "de": "Kommen Sie nicht zum Veranstaltungsort.",
        "hr": "Ne dolazite na mjesto događaja.",
    },
    "drop_cover_hold_on": {
        "en": "If the ground shakes again: drop, cover your head and neck, and hold on.",
        "de": "Wenn die Erde erneut bebt: Gehen Sie zu Boden, schützen Sie Kopf und Nacken "
        "und halten Sie sich fest.",
        "hr": "Ako se tlo ponovno zatrese: spustite se na pod, zaštitite glavu i vrat te se "
        "čvrsto držite.",
    },
    "expect_aftershocks": {
        "en": "Expect aftershocks.",
        "de": "Rechnen Sie mit Nachbeben.",
        "hr": "Očekujte naknadne potrese.",
    },
    "stay_out_of_damaged_buildings": {
        "en": "Stay out of damaged buildings.",
        "de": "Betreten Sie keine beschädigten Gebäude.",
        "hr": "Ne ulazite u oštećene zgrade.",
    },
    "check_for_gas": {
        "en": "If you smell gas, leave the building and do not use open flames or switches.",
        "de": "Wenn es nach Gas riecht, verlassen Sie das Gebäude und benutzen Sie weder "
        "offenes Feuer noch Schalter.",
        "hr": "Ako osjetite miris plina, napustite zgradu i ne koristite otvoreni plamen ni "
        "prekidače.",
    },
    "call_112_only_in_emergency": {
        "en": "Call 112 only in an emergency, to keep the lines free.",
        "de": "Wählen Sie den Notruf 112 nur im Notfall, damit die Leitungen frei bleiben.",
        "hr": "Nazovite 112 samo u hitnom slučaju kako bi linije ostale slobodne.",
    },
    "shelter_in_place": {
        "en": "Go indoors and stay there.",
        "de": "Gehen Sie in ein Gebäude und bleiben Sie dort.",
        "hr": "Uđite u zatvoreni prostor i ostanite unutra.",
    },
    "close_windows": {
        "en": "Close windows and doors and switch off ventilation.",
        "de": "Schließen Sie Fenster und Türen und schalten Sie Lüftungen aus.",
        "hr": "Zatvorite prozore i vrata te isključite ventilaciju.",
    },
    "keep_access_clear": {
        "en": "Keep access roads clear for emergency services.",
        "de": "Halten Sie die Zufahrtswege für Rettungskräfte frei.",
        "hr": "Ostavite prilazne ceste slobodnima za hitne službe.",
    },
    "report_to_police": {
        "en": "Report what you see to the police on 112 and do not share photos or videos "
        "of the police operation.",
        "de": "Melden Sie Beobachtungen der Polizei unter 112 und teilen Sie keine Fotos "
        "oder Videos des Einsatzes.",
        "hr": "Zapažanja prijavite policiji na 112 i ne dijelite fotografije ni snimke "
        "intervencije.",
    },
    "help_neighbours": {
        "en": "Check on neighbours who may need help.",
        "de": "Schauen Sie nach Nachbarn, die Hilfe brauchen könnten.",
        "hr": "Provjerite trebaju li susjedi pomoć.",
    },
    "follow_updates": {
        "en": "Follow official updates on the city's website and local radio.",
        "de": "Verfolgen Sie die offiziellen Meldungen auf der Website der Stadt und im "
        "Lokalradio.",
        "hr": "Pratite službene obavijesti na gradskim mrežnim stranicama i lokalnom radiju.",
    },
    "beware_phishing": {
        "en": "Do not answer messages that ask for your portal password: the city never "
        "asks for it.",
        "de": "Antworten Sie nicht auf Nachrichten, die nach Ihrem Portal-Passwort fragen: "
        "Die Stadt fragt nie danach.",
        "hr": "Ne odgovarajte na poruke koje traže lozinku za portal: grad je nikada ne traži.",
    },
    "change_reused_password": {
        "en": "If you use your portal password elsewhere too, change it there and on the portal.",
        "de": "Wenn Sie Ihr Portal-Passwort auch anderswo verwenden, ändern Sie es dort und "
        "im Portal.",
        "hr": "Ako lozinku za portal koristite i drugdje, promijenite je tamo i na portalu.",
    },
    "online_services_disrupted": {
        "en": "Online city services may be slow or unavailable; city offices remain open.",
        "de": "Online-Dienste der Stadt können langsam oder nicht erreichbar sein; die "
        "Bürgerbüros bleiben geöffnet.",
        "hr": "Gradske mrežne usluge mogu biti spore ili nedostupne; gradski uredi ostaju "
        "otvoreni.",
    },
    "all_clear": {
        "en": "The danger is over. You can resume normal activities.",
        "de": "Die Gefahr ist vorüber. Sie können Ihre gewohnten Tätigkeiten wieder aufnehmen.",
        "hr": "Opasnost je prošla. Možete nastaviti s uobičajenim aktivnostima.",
    },
}

# Other English wordings detectors and playbooks use for the same advice.
ALIASES: Final[dict[str, str]] = {
    "avoid the area": "avoid_area",
    "keep away from the area": "avoid_area",
    "stay away from the area": "avoid_area",
    "evacuate the area": "leave_area",
    "leave the area": "leave_area",
    "follow the instructions of stewards": "follow_officials",
    "follow the instructions of the police": "follow_officials",
    "follow instructions of stewards and police": "follow_officials",
    "do not push": "stay_calm_do_not_push",
    "keep calm": "stay_calm_do_not_push",
    "use other exits": "use_other_exits",
    "do not come to the venue": "do_not_travel_to_venue",
    "stay away from the venue": "do_not_travel_to_venue",
    "drop, cover and hold on": "drop_cover_hold_on",
    "stay out of damaged buildings": "stay_out_of_damaged_buildings",
    "do not enter damaged buildings": "stay_out_of_damaged_buildings",
    "shelter in place": "shelter_in_place",
    "stay indoors": "shelter_in_place",
    "keep windows and doors closed": "close_windows",
    "keep emergency lanes clear": "keep_access_clear",
    "call 112 only in an emergency": "call_112_only_in_emergency",
}

TEMPLATES: Final[tuple[tuple[str, re.Pattern[str], dict[str, str]], ...]] = (
    (
        "avoid_place",
        re.compile(r"(?:avoid|keep away from|stay away from) (?P<place>[^.;]{1,80})"),
        {
            "en": "Avoid {place}.",
            "de": "Meiden Sie den Bereich {place}.",
            "hr": "Izbjegavajte područje: {place}.",
        },
    ),
    (
        "leave_by_exit",
        re.compile(r"(?:leave|exit) (?:by|through|via) (?P<place>[^.;]{1,80})"),
        {
            "en": "Leave by {place}.",
            "de": "Verlassen Sie das Gelände über: {place}.",
            "hr": "Izlazite kroz: {place}.",
        },
    ),
    (
        "do_not_use_exit",
        re.compile(r"do not use (?P<place>(?:gate|exit|entrance) [^.;]{1,60})"),
        {
            "en": "Do not use {place}.",
            "de": "Benutzen Sie nicht: {place}.",
            "hr": "Ne koristite: {place}.",
        },
    ),
)


class Instruction(NamedTuple):
    """An instruction text in one language, with the phrases used and measures skipped."""

    text: str
    used: list[str]
    skipped: list[str]


def _norm(text: str) -> str:
    text = text.replace("\u2019", "'").strip()[:300]
    return " ".join(text.split()).rstrip(".!;").casefold()


_BY_ENGLISH: Final = {_norm(p["en"]): k for k, p in PHRASES.items()} | ALIASES


def check_language(language: str) -> str:
    """The phrasebook language for a tag (``de-AT`` → ``de``), or a :class:`RespondError`."""
    lang = primary(language)
    if lang not in LANGUAGES:
        raise RespondError(
            f"no phrasebook for language {language!r}: use one of {', '.join(LANGUAGES)}"
        )
    return lang


def phrase(key: str, language: str) -> str:
    """One phrase in a language.

    >>> phrase("expect_aftershocks", "de-DE")
    'Rechnen Sie mit Nachbeben.'
    """
    return PHRASES[key][check_language(language)]


def instruction_for(
    measures: Iterable[str], language: str, *, defaults: Sequence[str] = ()
) -> Instruction:
    """The public instruction text for recommended measures, in one language.

    ``defaults`` (phrase ids) are used when no measure is a known public phrase.

    >>> i = instruction_for(["Avoid the area", "Block 198.51.100.7 at the proxy",
    ...                      "Leave by Gate 4"], "hr-HR")
    >>> i.text
    'Izbjegavajte pogođeno područje. Izlazite kroz: Gate 4.'
    >>> i.skipped
    ['Block 198.51.100.7 at the proxy']
    """
    lang = check_language(language)
    sentences: list[str] = []
    used: list[str] = []
    skipped: list[str] = []
    for measure in measures:
        key = _BY_ENGLISH.get(_norm(measure))
        if key is not None:
            if key not in used:
                used.append(key)
                sentences.append(PHRASES[key][lang])
            continue
        original = " ".join(measure.split()).rstrip(".!;")[:300]
        lowered = original.casefold()
        for name, pattern, texts in TEMPLATES:
            match = pattern.fullmatch(lowered)
            if match is not None:
                start, end = match.span("place")
                sentences.append(texts[lang].format(place=original[start:end].strip()))
                used.append(name)
                break
        else:
            skipped.append(measure)
    if not sentences:
        for key in defaults:
            used.append(key)
            sentences.append(PHRASES[key][lang])
    return Instruction(" ".join(sentences), used, skipped)
