"""Name data for the synthetic city: people, streets, districts, mail domains.

Aldmere is a central-European city with a multinational population, so names
come from many cultures and carry diacritics, apostrophes and other scripts
(``Õun``, ``O'Brien``, ``Đorđević``, ``Yılmaz``, ``Nguyễn``, ``Шевченко``).
:func:`ascii_fold` derives the ASCII usernames and e-mail addresses a portal
account would really have.

>>> ascii_fold("Đorđević")
'Djordjevic'
>>> ascii_fold("Ó Súilleabháin")
'O Suilleabhain'
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import NamedTuple


class Culture(NamedTuple):
    """Names of one origin, how common they are in Aldmere, and the browser language."""

    weight: int
    accept_language: str
    given: tuple[str, ...]
    family: tuple[str, ...]
    iban_country: str


def _t(text: str) -> tuple[str, ...]:
    return tuple(text.split(","))


CULTURES: tuple[Culture, ...] = (
    Culture(
        38,
        "hr-HR,hr;q=0.9,en-US;q=0.8,en;q=0.7",
        _t(
            "Ivan,Marko,Ana,Petra,Luka,Ivana,Josip,Marija,Nikola,Katarina,Tomislav,Maja,Željko,"
            "Dubravka,Mateja,Đurđa,Šime,Zrinka,Krešimir,Nives,Hrvoje,Lucija,Dražen,Snježana"
        ),
        _t(
            "Horvat,Kovačević,Babić,Marić,Jurić,Novak,Knežević,Vuković,Marković,Petrović,Šimić,"
            "Pavlović,Božić,Grgić,Perić,Lovrić,Matić,Tomić,Blažević,Čačić,Žužić,Đurić,Šarić,Čolić"
        ),
        "HR",
    ),
    Culture(
        5,
        "sr-RS,sr;q=0.9,hr;q=0.8,en;q=0.6",
        _t("Dragana,Miloš,Jelena,Nemanja,Đorđe,Milica,Stefan,Ljiljana"),
        _t("Đorđević,Jovanović,Nikolić,Stojanović,Ilić,Lazić,Živković"),
        "HR",
    ),
    Culture(
        10,
        "de-DE,de;q=0.9,en-US;q=0.7,en;q=0.6",
        _t("Lukas,Jürgen,Anna,Sören,Jörg,Käthe,Felix,Lena,Günther,Marlene,Björn,Jana"),
        _t("Müller,Schäfer,Weiß,Groß,Köhler,Schröder,Fischer,Bäcker,Hoffmann,Wagner,Strauß,Böhm"),
        "DE",
    ),
    Culture(
        5,
        "es-ES,es;q=0.9,en;q=0.7",
        _t("José,María,Íñigo,Lucía,Begoña,Álvaro,Nuria,Andrés,Inés"),
        _t("Ñúñez,García,Peña,Muñoz,Ibáñez,Fernández,Martínez,Álvarez,Castaño"),
        "ES",
    ),
    Culture(
        4,
        "en-IE,en;q=0.9",
        _t("Siobhán,Seán,Aoife,Niamh,Pádraig,Ciarán,Orla,Róisín,Declan"),
        _t("O'Brien,O'Connor,Ní Bhriain,Mac Giolla,O'Sullivan,Ó Súilleabháin,Murphy,Kelly,D'Arcy"),
        "IE",
    ),
    Culture(
        3,
        "et-EE,et;q=0.9,en;q=0.8",
        _t("Kärt,Tõnu,Mart,Liis,Jüri,Triin,Ülle,Priit"),
        _t("Õun,Tamm,Saar,Mägi,Kask,Pärn,Sepp,Lõhmus,Kõiv"),
        "EE",
    ),
    Culture(
        5,
        "tr-TR,tr;q=0.9,en-US;q=0.8,en;q=0.7",
        _t("Ayşe,Mehmet,Çağla,Gökhan,İlker,Şule,Emre,Ömer,Gülşen"),
        _t("Yılmaz,Öztürk,Çelik,Şahin,Doğan,Kılıç,Aydın,Güneş,Özdemir"),
        "TR",
    ),
    Culture(
        3,
        "vi-VN,vi;q=0.9,en-US;q=0.8,en;q=0.7",
        _t("Minh,Thảo,Hương,Quốc,Lan,Tuấn,Ngọc,Đức"),
        _t("Nguyễn,Trần,Lê,Phạm,Hoàng,Vũ,Đặng,Bùi"),
        "HR",
    ),
    Culture(
        4,
        "pl-PL,pl;q=0.9,en-US;q=0.8,en;q=0.7",
        _t("Łukasz,Małgorzata,Zofia,Paweł,Agnieszka,Wojciech,Krzysztof,Grażyna"),
        _t("Nowak,Wiśniewski,Wójcik,Kowalczyk,Zieliński,Dąbrowska,Łęcki,Szczęsny"),
        "PL",
    ),
    Culture(
        3,
        "da-DK,da;q=0.9,en;q=0.8",
        _t("Søren,Åsa,Bjørn,Ingrid,Sigrún,Mikkel,Freja,Ærling"),
        _t("Jørgensen,Sørensen,Nielsen,Åberg,Lindqvist,Øvergaard,Bråten,Kjær"),
        "DK",
    ),
    Culture(
        2,
        "hu-HU,hu;q=0.9,en;q=0.7",
        _t("Zsófia,Ákos,Réka,Gábor,Ildikó,Levente"),
        _t("Kovács,Szőke,Tóth,Nagy,Horváth,Fehér,Szűcs"),
        "HU",
    ),
    Culture(
        2,
        "cs-CZ,cs;q=0.9,en;q=0.7",
        _t("Jiří,Tereza,Zdeněk,Barbora,Lukáš,Věra"),
        _t("Dvořák,Novák,Procházka,Černý,Růžička,Kučera"),
        "CZ",
    ),
    Culture(
        3,
        "it-IT,it;q=0.9,en-US;q=0.8,en;q=0.7",
        _t("Giulia,Niccolò,Chiara,Lorenzo,Federica,Mattia"),
        _t("D'Angelo,D'Amico,Esposito,Russo,Colombo,Dell'Orto,Lo Presti"),
        "IT",
    ),
    Culture(
        2,
        "fr-FR,fr;q=0.9,en;q=0.6",
        _t("Élodie,François,Théo,Chloé,Noël,Gaëlle"),
        _t("Lefèvre,Dubois,Moreau,Faure,D'Aubigné,Lemaître"),
        "FR",
    ),
    Culture(
        2,
        "ar,en-US;q=0.8,en;q=0.7",
        _t("Yusuf,Layla,Omar,Fatima,Karim,Nour"),
        _t("Al-Hassan,El-Amin,Haddad,Mansour,Al-Khatib"),
        "HR",
    ),
    Culture(
        3,
        "uk-UA,uk;q=0.9,en-US;q=0.8,en;q=0.7",
        _t("Олена,Андрій,Оксана,Тарас,Юлія,Дмитро,Ірина"),
        _t("Шевченко,Коваленко,Бондаренко,Ткаченко,Мельник,Кравчук,Олійник"),
        "HR",
    ),
)

STREETS: tuple[str, ...] = _t(
    "Ilica,Vlaška ulica,Savska cesta,Trg bana Jelačića,Šoštarićeva ulica,Ulica Đure Deželića,"
    "Ulica kneza Mislava,Müllerstraße,O'Connell Street,Rue de l'Église,Calle de la Peña,"
    "Yıldız Sokağı,Ulica Świętego Ducha,Søndergade,Lõuna tänav,Via dell'Orso,Strossmayerovo "
    "šetalište,Ulica Matije Gupca,Put Ćire Truhelke,D'Arcy Lane,Jurišićeva ulica,Tkalčićeva "
    "ulica,Ulica Ljudevita Gaja,Frankopanska ulica,Petrinjska ulica,Gundulićeva ulica,"
    "Kaptol,Nova cesta,Zelengaj,Šubićeva ulica,Kvaternikov trg,Maksimirska cesta,Vukovarska "
    "ulica,Ulica grada Mainza,Aleja Bologne,Ulica Hrvoja Macanovića,Trg kralja Tomislava,"
    "Riverside Walk,Brückenweg,Quai d'Orsay-Aldmere,Obala Ivana Meštrovića,Ulica Ivane Brlić-"
    "Mažuranić,Ulica Ðakovačka,Hafenstraße,Plac Rynkowy,Ul. Kovačića,Slavonska avenija"
)

# Streets named for a date or a unit, as a form gets them (the social gazetteer keeps STREETS).
DATED_STREETS: tuple[str, ...] = _t(
    "Ulica 1. svibnja,Trg 150. brigade,Ulica 2. Vukovarske brigade,Straße des 17. Juni,"
    "Rue du 8 Mai 1945,Ulica 22. lipnja"
)

# The names of Aldmere's districts: the centre, the inner ring, the outer ring.
DISTRICT_NAMES: tuple[str, ...] = _t(
    "Stari Grad,Kaptolje,Riverside,Gornja Vas,Tvornička,Sveti Đuro,Novo Polje,"
    "Brückenfeld,Jarun-Mlini,Lučko Brdo,Sjeverni Gaj,Pěší Dvor,Ołtarzew,Zelena Dolina,"
    "Port d'Aldmere,Istočni Kraj"
)

MAIL_DOMAINS: tuple[str, ...] = _t(
    "gmail.com,gmail.com,gmail.com,outlook.com,hotmail.com,yahoo.com,gmx.de,web.de,"
    "proton.me,icloud.com,aldnet.city,aldnet.city,t-mail.aldmere.city"
)

PASSWORD_WORDS: tuple[str, ...] = _t(
    "sunflower,dinamo,mačka,ljeto,summer,winter,football,princess,dragon,monkey,bella,"
    "ljubav,sunce,kava,gitara,tiger,hajduk,blue,rainbow,zagorje,family,welcome,maksimir,"
    "river,aldmere,baby,chocolate,kovac,marina,pomorac,lilly,snoopy"
)


def _pairs(text: str) -> dict[str, str]:
    return {key: value for key, _, value in (pair.partition("=") for pair in text.split())}


_SPECIAL = str.maketrans(
    _pairs(
        "đ=dj Đ=Dj Ð=Dj ø=o Ø=O ł=l Ł=L ı=i ß=ss æ=ae Æ=Ae œ=oe Œ=Oe а=a б=b в=v г=h ґ=g "
        "д=d е=e є=ie ж=zh з=z и=y і=i ї=i й=i к=k л=l м=m н=n о=o п=p р=r с=s т=t у=u "
        "ф=f х=kh ц=ts ч=ch ш=sh щ=shch ь= ю=iu я=ia А=A Б=B В=V Г=H Д=D Е=E Ж=Zh З=Z І=I "
        "Ї=Yi Й=Y К=K Л=L М=M Н=N О=O П=P Р=R С=S Т=T У=U Ф=F Х=Kh Ц=Ts Ч=Ch Ш=Sh Ю=Yu "
        "Я=Ya "
    )
)


def ascii_fold(text: str) -> str:
    """``text`` in plain ASCII letters: diacritics dropped, other scripts transliterated."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPECIAL))
    return "".join(c for c in decomposed if c.isascii() and not unicodedata.combining(c))


@lru_cache(maxsize=1024)
def handle(text: str) -> str:
    """A lower-case login handle from a name: ``"O'Brien"`` → ``"obrien"``."""
    return "".join(c for c in ascii_fold(text).lower() if c.isalnum())
