"""SQL injection by syntax, not by keywords: a libinjection-style tokenizer.

A value is tokenised as SQL three ways: as it is (a numeric context,
``id=3 AND 1=1``), and as if it continued a single- or double-quoted string
(``name=x' OR '1'='1``), the latter only when the value holds that quote.
Each token becomes one letter and the letters make a *fingerprint*;
injections have fingerprints that prose never has. ``' OR 1=1-- -`` read
inside a quote is ``s&n=nc``; "O'Brien or Õun" is ``sb&b``, "select a
district" ``Ebb``. Rules are small regexes over fingerprints (at most
:data:`MAX_TOKENS` letters), so the cost is linear in the value.

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
    |(?P<o>!=|<>|<=>|<=|>=|\|\||&&|::|:=|[=<>!+\-*/%^|&~])
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

_OPERATORS = {
    "||": "&",
    "&&": "&",
    **dict.fromkeys(("=", "<", ">", "<=", ">=", "!=", "<>", "<=>", ":="), "="),
}

_RULES = re.compile(
    r"""
    (?P<union>U[kU]?E(?:\(|[nvsfFQo](?:[,kc()&;]|$)|b[,k]|Ek))
    |(?P<tautology>(?:^|[sn)])&\({0,3}(?:[snv]\){0,3}o?=\({0,3}[snvbfF]|[bfF]\){0,3}=\({0,3}[snvfF]))
    |(?P<stacked>;(?:E(?:\(|k|[nvsfFQo](?:[,kc()&;]|$)|b[,k])|Dk|I(?:k|bk)|X|W))
    |(?P<function>(?:^|[&o=;(,E])F\((?:[nsv(]|\))|[&o=;(]f\((?:E|F\())
    |(?P<subquery>[&o=,(]\(E)
    |(?P<orderby>[sn)]Gkn(?:c|,|$))
    |(?P<time>W[kb]s)
    |(?P<schema>[EkQ,(]Q|Q[kc,)])
    """,
    re.VERBOSE,
)
_QUOTED_RULES = re.compile(r"^s\)*(?:c|;c|&\(?[nsv]\)*(?:c|$)|k\(?[nsv]=)")
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
    letters: list[str] = []
    word = ""
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind in ("ws", "vc", "ic"):
            continue  # whitespace, and comments that only stand for it: 1/**/OR/**/1=1
        lexeme = match.group()
        if kind == "w":
            letter = _WORDS.get(lexeme, "b")
            word = lexeme
            letters.append(letter)
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
        if len(letters) >= MAX_TOKENS:
            break
    return "".join(letters)


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


def _check(text: str) -> str | None:
    match = _RULES.search(fingerprint(text))
    if match is not None:
        return match.lastgroup
    for quote in ("'", '"'):
        if quote in text:
            fp = fingerprint(quote + text)
            match = _RULES.search(fp)
            if match is not None:
                return match.lastgroup
            if _QUOTED_RULES.search(fp):
                return "quote-break"
    return None


def _probe(text: str) -> str | None:
    """sqlmap's first probes: a number followed by a stray quote or quote-paren junk."""
    match = _NUMBER_PROBE.match(text)
    if match is None:
        return None
    rest = text[match.end() :]
    if 0 < len(rest) <= 16 and not rest.strip(_PROBE_JUNK) and ("'" in rest or '"' in rest):
        return "probe"
    return None
