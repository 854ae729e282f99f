"""SQL injection by syntax, not by keywords: a libinjection-style tokenizer.

A value is tokenised as SQL three ways: as it is (a numeric context,
``id=3 AND 1=1``), and as if it continued a single- or double-quoted string
(``name=x' OR '1'='1``), the latter only when the value holds that quote.
Each token becomes one letter and the letters make a *fingerprint*;
injections have fingerprints that prose never has. ``' OR 1=1-- -`` read
inside a quote is ``s&n=nc``; "O'Brien or Õun" is ``sb&b``, "select a
district" ``Ebb``. Rules are small regexes over fingerprints (at most
:data:`MAX_TOKENS` letters), so the cost is linear in the value. Where prose
and SQL share a fingerprint ("1 or 2" and ``1 or true`` are both ``n&n``), the
words decide: a whole value that is a boolean condition after a number, a
``CASE WHEN`` with a comparison, THEN and END, a break-out like ``'='`` with
no words around it.

Token letters: ``s`` string, ``n`` number (and NULL/TRUE/FALSE), ``b``
bare word, ``v`` @variable, ``k`` keyword, ``G`` ORDER/GROUP, ``U`` UNION,
``E`` SELECT, ``D`` DROP/CREATE/ALTER/TRUNCATE, ``I`` INSERT/UPDATE/DELETE,
``X`` EXEC/DECLARE/SHUTDOWN, ``W`` WAITFOR, ``&`` AND/OR/XOR/&&/||,
``=`` comparison (``=``, ``<``, LIKE...), ``o`` other operator, ``f`` a call,
``F`` a call of a known SQL function, ``Q`` a system schema
(information_schema, INTO OUTFILE...), ``c`` comment,
``(`` ``)`` ``,`` ``;`` themselves, ``x`` anything else.

>>> sql_injection("3 UNION ALL SELECT NULL,NULL-- -")
('union', '3 UNION ALL SELECT NULL,NULL-- -')
>>> sql_injection("O'Brien or Õun") is None
True
"""

from __future__ import annotations

import re

from citywatch.detect.portal.catalog import word_set
from citywatch.detect.portal.normalise import fold, sql_compact

MAX_TOKENS = 40
"""Tokens of a value fingerprinted (injections show at their start)."""

_TOKEN = re.compile(
    r"""
    (?P<ws>[\s\x00\xa0\x0b]++)
    |(?P<vc>/\*!\d*+|\*/)
    |(?P<ic>/\*(?:[^*]|\*(?!/))*+\*/|--(?![\s\-+/\#])[^\n]*+\n)
    |(?P<c>/\*(?:[^*]|\*(?!/))*+|--(?=[\s\-+/#]|$)[^\n]*+|\#[^\n]*+)
    |(?P<s>'(?:[^'\\]|\\.|'')*+'?|"(?:[^"\\]|\\.|"")*+"?)
    |(?P<bq>`[^`]*+`?)
    |(?P<n>(?:0x[0-9a-f]++|0b[01]++|(?:\d++(?:\.\d*+)?|\.\d++)(?:e[+-]?\d++)?)(?![\w$]))
    |(?P<v>@@?[\w$.]*+)
    |(?P<w>[^\W\d][\w$]*+(?:\.[^\W\d][\w$]*+)*+|\d++[^\W\d][\w$]*+)
    |(?P<o>->>?|!=|<>|<=>|<=|>=|\|\||&&|::|:=|[=<>!+\-*/%^|&~])
    |(?P<p>[(),;.])
    |(?P<x>.)
    """,
    re.VERBOSE | re.DOTALL,
)

_WORDS: dict[str, str] = {
    **dict.fromkeys(("union", "intersect", "except"), "U"),
    "select": "E",
    **dict.fromkeys(("drop", "create", "alter", "truncate", "rename"), "D"),
    **dict.fromkeys(("insert", "update", "delete", "replace", "merge"), "I"),
    **dict.fromkeys(("exec", "execute", "declare", "shutdown", "xp_cmdshell"), "X"),
    "waitfor": "W",
    **dict.fromkeys(("and", "or", "xor"), "&"),
    **dict.fromkeys(("like", "rlike", "regexp", "sounds", "is", "in", "between"), "="),
    **dict.fromkeys(("not", "div", "mod"), "o"),
    **dict.fromkeys(("null", "true", "false"), "n"),
    **dict.fromkeys(("order", "group"), "G"),
    **dict.fromkeys(
        word_set(
            "from where limit offset having by into join case when then else all distinct "
            "table database schema values set delay procedure collate rollup"
        ),
        "k",
    ),
    **dict.fromkeys(
        word_set(
            "information_schema sysobjects syscolumns sys.objects sys.tables mysql.user "
            "mysql.db pg_catalog pg_shadow pg_user sqlite_master all_tables user_tables "
            "dual msysobjects outfile dumpfile"
        ),
        "Q",
    ),
}
_FUNCTIONS = word_set(
    "sleep benchmark pg_sleep extractvalue updatexml load_file elt concat concat_ws "
    "group_concat char chr ascii ord substring substr mid version database user "
    "current_user system_user session_user schema if ifnull nullif coalesce cast "
    "convert count rand floor md5 sha1 hex unhex length len exp gtid_subset json_keys "
    "name_const make_set row iif randomblob dbms_pipe.receive_message "
    "utl_inaddr.get_host_name utl_http.request xp_cmdshell sp_executesql "
    "sp_oacreate openrowset opendatasource db_name host_name suser_name current_database "
    "sqlite_version pg_read_file lo_import dbms_xmlgen.getxml"
)

_SIGN_AFTER = frozenset("&=(,")
"""Tokens after which a ``-`` is a number's sign, not a subtraction."""
_OPERATORS = {
    "||": "&",
    "&&": "&",
    **dict.fromkeys(("=", "<", ">", "<=", ">=", "!=", "<>", "<=>", ":="), "="),
}

_RULES = re.compile(
    r"""
    (?P<union>U[kU]?\({0,3}E(?:\(|[nvsfFQo](?:[,kc()&;]|$)|b[,k]|Ek))
    |(?P<tautology>(?:^|[sn)])&\({0,3}(?:[snv]\){0,3}o?=\({0,3}[snvbfF]|[bfF]\){0,3}=\({0,3}[snvfF]))
    |(?P<stacked>;(?:E(?:\(|k|[nvsfFQo](?:[,kc()&;]|$)|b[,k])|Dk|I(?:k|bk)|X|W))
    |(?P<function>(?:^|[&o=;(,E])F\((?:[nsv](?!b)|[()])|[&o=;(]f\((?:E|F\())
    |(?P<subquery>[&o=,(]\(E)
    |(?P<orderby>[sn)]Gkn(?:c|,|$))
    |(?P<time>W[kb]s)
    |(?P<schema>[EkQ,(]Q|Q[kc,)])
    """,
    re.VERBOSE,
)
_QUOTED_RULES = re.compile(r"^s\)*(?:c|;c|&\(?[nsv]\)*(?:c|$)|k\(?[nsv]=|[=o]\(?[nsv]\)*c)")
"""Rules that hold only where the value breaks out of a quoted string."""

_NUMBER_PROBE = re.compile(r"-?\d+(?:[.,]\d+)?")
_PROBE_JUNK = "'\"().,"


def fingerprint(text: str) -> str:
    """The token letters of (folded) SQL text, at most :data:`MAX_TOKENS`.

    >>> fingerprint("'1' or sleep(5)-- -")
    's&F(n)c'
    >>> fingerprint("1 and user like 'a%'")
    'n&b=s'
    """
    return "".join(_tokens(text)[0])


def _tokens(text: str) -> tuple[list[str], list[str]]:
    """The token letters of ``text`` and, for each, its word (empty for other tokens)."""
    letters: list[str] = []
    words: list[str] = []
    word = ""
    minus = False  # the last token is a ``-`` where an operand is due: a sign
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind in ("ws", "vc", "ic"):
            continue  # whitespace, and comments that only stand for it: 1/**/OR/**/1=1
        lexeme = match.group()
        if minus and kind == "n":  # -1 OR true: a signed number is one operand
            letters[-1] = "n"
            minus = False
            continue
        minus = lexeme == "-" and (len(letters) == 0 or letters[-1] in _SIGN_AFTER)
        if kind == "w":
            letter = _WORDS.get(lexeme, "b")
            word = lexeme
            letters.append(letter)
            words.append(lexeme)
        else:
            if kind == "p":
                if lexeme == "(" and word and letters:  # a call: name(
                    if word in _FUNCTIONS:
                        letters[-1] = "F"
                    elif letters[-1] in "bIk":
                        letters[-1] = "f"
                letter = "o" if lexeme == "." else lexeme
            elif kind == "o":
                letter = _OPERATORS.get(lexeme, "o")
            elif kind == "bq":
                letter = "b"  # a `quoted` identifier
            else:
                letter = kind or "x"
            word = ""
            letters.append(letter)
            words.append("")
        if len(letters) >= MAX_TOKENS:
            break
    return letters, words


def sql_injection(value: str) -> tuple[str, str] | None:
    """The rule an injection in ``value`` matches and the text it matched, or None.

    >>> sql_injection("1250.00' AND SLEEP(5) AND 'tYxW'='tYxW")[0]
    'function'
    >>> sql_injection("Please select a date; drop-off is on Monday") is None
    True
    """
    text = fold(value)
    found = _check(text)
    if found is None and "/*" in text:
        joined = sql_compact(text, join=True)  # UN/**/ION SEL/**/ECT
        if joined != text:
            found = _check(joined)
    if found is None:
        found = _probe(text)
    if found is None:
        return None
    return found, value


NUMBER_FIRST = re.compile(r"\s{0,8}+-?\d{1,20}+\s++(?:and|or|xor|r?like|regexp)\b").match
"""A value of words that starts like a boolean condition (``1 or true``): worth
:func:`sql_condition` even with no SQL keyword in it."""


def sql_condition(value: str) -> tuple[str, str] | None:
    """A value that is, whole, a boolean condition after a number, or None.

    Values of words, digits and spaces carry no SQL syntax, so only the whole-value
    conditions of :func:`_boolean` count in them (the other rules read "1 or 2 is fine"
    as ``n&n=b``).

    >>> sql_condition("1 OR true"), sql_condition("1 or 2 times")
    (('tautology', '1 OR true'), None)
    """
    letters, words = _tokens(fold(value))
    return ("tautology", value) if _boolean("".join(letters), words) else None


def _check(text: str) -> str | None:
    letters, words = _tokens(text)
    fp = "".join(letters)
    found = _rule(fp, letters, words)
    if found is not None:
        return found
    if _boolean(fp, words) or _case_when(letters, words):
        return "tautology"
    for quote in ("'", '"'):
        if quote in text:
            letters, words = _tokens(quote + text)
            fp = "".join(letters)
            found = _rule(fp, letters, words)
            if found is not None:
                return found
            if _QUOTED_RULES.search(fp) or _balanced_break(fp, text, quote):
                return "quote-break"
            if _case_when(letters, words):
                return "tautology"
    return None


def _rule(fp: str, letters: list[str], words: list[str]) -> str | None:
    """The first rule the fingerprint ``fp`` matches, but a comparison prose makes."""
    for match in _RULES.finditer(fp):
        name = match.lastgroup
        if name != "tautology" or not _prose_comparison(letters, words, match.start()):
            return name
    return None


def _prose_comparison(letters: list[str], words: list[str], start: int) -> bool:
    """Whether the condition of a tautology match at ``start`` is prose, not SQL: a number
    after a bare word ("Tram 4 or 9 = late": SQL never writes a name and a number side by
    side), ``IN`` without a list ("2 or 3 in total"), ``IS`` without NULL, TRUE, FALSE or NOT
    ("2 or 3 is fine"), or a bare word compared and followed by another ("6 or 14 = both
    late", "3 or 4 < no hot water").

    >>> _prose_comparison(*_tokens("6 or 14 = both late"), 0)
    True
    >>> _prose_comparison(*_tokens("1 or 1 = x"), 0)
    False
    >>> _prose_comparison(*_tokens("1 or 1 in (1)"), 0)
    False
    """
    if start > 0 and letters[start] == "n" and letters[start - 1] == "b":
        return True
    at = letters.index("=", start) if "=" in letters[start:] else -1
    if at < 0:
        return False
    operator, after = words[at], letters[at + 1 : at + 3]
    if operator == "in":
        return after[:1] != ["("]
    if operator == "is":
        return after[:1] not in (["n"], ["o"])
    return after == ["b", "b"] or (after[:1] == ["b"] and words[at + 1] in _PROSE_WORDS)


_PROSE_WORDS = frozenset(("both", "no", "not"))


_BOOLEAN = re.compile(r"n(?:&n)?=o?n(?:&n)?c?|n&nc?")
"""A whole value that is a number, a boolean operator and a predicate: ``1 or 1 like 1``,
``1 and 1 between 0 and 2``, ``1 and 1 is not null``, ``1 or true``."""
_PATTERN_WORDS = frozenset(("like", "rlike", "regexp", "sounds"))
_TRUTH = frozenset(("true", "false", "null"))


def _boolean(fp: str, words: list[str]) -> bool:
    """Whether the whole value is a boolean SQL condition after a number (numeric context).

    Prose has the same letters ("1 or 2" is ``n&n``, "5 in 10" ``n=n``), so the words decide:
    the last operand of ``n&n`` is TRUE or FALSE, ``is`` tests NULL/TRUE/FALSE, ``in`` never
    counts, and without AND/OR the comparison is a pattern match (``1 rlike 1``).

    >>> _boolean("n&n", ["", "or", "true"]), _boolean("n&n", ["", "or", ""])
    (True, False)
    """
    if _BOOLEAN.fullmatch(fp) is None:
        return False
    if "=" not in fp:
        return words[2] in ("true", "false")
    operator = words[fp.index("=")]
    last = words[-2] if fp.endswith("c") else words[-1]
    if operator == "in" or (operator == "is" and last not in _TRUTH):
        return False
    if fp.endswith(("&n", "&nc")) and operator != "between":
        return False  # 1 or 2 = 3 or 4
    return fp[1] == "&" or operator in _PATTERN_WORDS


def _case_when(letters: list[str], words: list[str]) -> bool:
    """``CASE WHEN <comparison> THEN ... END``: the conditional of boolean-blind injection
    (a complaint may say "in case when", never with a comparison, THEN and END after it)."""
    for i in range(len(words) - 1):
        if words[i] == "case" and words[i + 1] == "when":
            try:
                then = words.index("then", i + 2)
            except ValueError:
                return False
            return "=" in letters[i + 2 : then] and "end" in words[then + 1 :]
    return False


_BREAK_OPERATORS = frozenset(("=", "-", "+", "*", "/", "%", "^", "|", "&", "<", ">", "<>", "!="))
_BREAK_SIDE = 32


def _balanced_break(fp: str, text: str, quote: str) -> bool:
    """A value that closes the query's string, adds an operator and opens a string again
    (``'='``, ``x'='x``, ``'-'``: ``WHERE name=''=''`` is true), with no words around it
    ("the sign '=' means equals" is prose).

    >>> _balanced_break("s=s", "'='", "'"), _balanced_break("s=s", "sign '=' means", "'")
    (True, False)
    """
    if fp not in ("s=s", "sos", "s&s"):
        return False
    parts = text.split(quote)
    return (
        len(parts) == 3
        and parts[1].strip() in _BREAK_OPERATORS
        and all(len(p) <= _BREAK_SIDE and not any(c.isspace() for c in p) for p in parts[::2])
    )


def _probe(text: str) -> str | None:
    """sqlmap's first probes: a number followed by a stray quote or quote-paren junk."""
    match = _NUMBER_PROBE.match(text)
    if match is None:
        return None
    rest = text[match.end() :]
    if 0 < len(rest) <= 16 and not rest.strip(_PROBE_JUNK) and ("'" in rest or '"' in rest):
        return "probe"
    return None
