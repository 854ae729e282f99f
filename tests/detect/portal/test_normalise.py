from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citywatch.detect.portal.normalise import (
    BAD_ESCAPE,
    MULTI_ENCODED,
    NUL_BYTE,
    OVERLONG_UTF8,
    PERCENT_U,
    fold,
    html_decode,
    normalise_path,
    resolve_dots,
    shell_normalise,
    sql_compact,
    url_decode,
    url_decode_flags,
)


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        ("%27%20OR%201%3D1", "' OR 1=1"),
        ("%2527", "'"),  # double
        ("%252527", "'"),  # triple
        ("%25252527", "%27"),  # four rounds: stops after three
        ("%u0027%u003c", "'<"),
        ("%C3%95un", "Õun"),
        ("%c0%ae%c0%ae%c0%af", "../"),  # overlong UTF-8
        ("%zz%2", "%zz%2"),  # invalid escapes kept
        ("%E9t%E9", "été"),  # Latin-1 bytes kept as characters
        ("plain", "plain"),
    ],
)
def test_url_decode(raw: str, decoded: str) -> None:
    assert url_decode(raw) == decoded


def test_url_decode_flags_name_the_evasion() -> None:
    assert url_decode_flags("%2527")[1] & MULTI_ENCODED
    assert url_decode_flags("%c0%af")[1] & OVERLONG_UTF8
    assert url_decode_flags("%u0027")[1] & PERCENT_U
    assert url_decode_flags("a%00b")[1] & NUL_BYTE
    assert url_decode_flags("50%")[1] == BAD_ESCAPE
    assert url_decode_flags("50%25")[1] == 0, "a percent that decodes to a literal % is fine"
    assert url_decode_flags("a+b", plus=True) == ("a b", 0)


def test_plus_is_a_space_only_in_the_first_round() -> None:
    assert url_decode("a+b%2Bc", plus=True) == "a b+c"
    assert url_decode("a+b") == "a+b"


def test_unchanged_input_is_returned_as_is() -> None:
    text = "drop-off point, O'Brien Square"
    assert url_decode(text) is text
    assert html_decode(text) is text
    words = "drop-off point, Ilica 12"
    assert shell_normalise(words) is words
    path = "/tax/returns/2024"
    assert normalise_path(path) is path


def test_html_entities() -> None:
    assert html_decode("&lt;script&gt;") == "<script>"
    assert html_decode("&#60;&#x3C;&#0000060") == "<<<"
    assert html_decode("&amp;lt;") == "<"  # double encoded
    assert html_decode("Tom &amp; Jerry") == "Tom & Jerry"
    assert html_decode("R&D <3") == "R&D <3"


def test_fold_fullwidth_and_case() -> None:
    assert fold("ＳＥＬＥＣＴ ＜script＞") == "select <script>"
    assert fold("Straße") == "strasse"
    assert fold("UNION") == "union"


@pytest.mark.parametrize(
    ("sql", "compact"),
    [
        ("UN/**/ION SEL/**/ECT", "un ion sel ect"),
        ("1/*!50000UNION*/SELECT", "1 union select"),
        ("a -- comment\nb", "a b"),
        ("a # comment", "a "),
        ("x\t\n\xa0y", "x y"),
    ],
)
def test_sql_compact(sql: str, compact: str) -> None:
    assert sql_compact(sql) == compact


def test_sql_compact_join_glues_split_keywords() -> None:
    assert sql_compact("UN/**/ION SEL/**/ECT", join=True) == "union select"


@pytest.mark.parametrize(
    ("cmd", "normal"),
    [
        ("c'a't /etc/passwd", "cat /etc/passwd"),
        ('w"h"oami', "whoami"),
        ("cat${IFS}/etc/passwd", "cat /etc/passwd"),
        ("cat$IFS$9/etc/passwd", "cat /etc/passwd"),
        ("c\\at /e\\tc/passwd", "cat /etc/passwd"),
        ("who$@ami", "whoami"),
    ],
)
def test_shell_normalise(cmd: str, normal: str) -> None:
    assert shell_normalise(cmd) == normal


@pytest.mark.parametrize(
    ("path", "normal"),
    [
        ("/a/./b//c/", "/a/b/c/"),
        ("/a/b/../c", "/a/c"),
        ("/../../etc/passwd", "/etc/passwd"),
        ("/static/..%2f..%2fetc", "/etc"),
        ("/a\\..\\b", "/b"),
        ("/manager/..;/admin", "/admin"),
        ("/Tax/Returns", "/Tax/Returns"),
        ("/a/..", "/"),
    ],
)
def test_normalise_path(path: str, normal: str) -> None:
    assert normalise_path(path) == normal


def test_resolve_dots_keeps_relative_input_rooted() -> None:
    assert resolve_dots("a/../../b") == "/b"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_decoders_never_fail_and_are_bounded(text: str) -> None:
    for value in (
        url_decode(text, plus=True),
        html_decode(text),
        fold(text),
        sql_compact(text),
        shell_normalise(text),
        normalise_path(text),
    ):
        assert isinstance(value, str)
        assert len(value) <= 3 * len(text) + 2
    assert normalise_path(text).startswith("/")
