"""PHP web-shell one-liners: code that runs what the request sends (part of :mod:`.values`).

An uploaded ``avatar.jpg`` whose content is ``<?php eval($_POST[1]);?>`` (China
Chopper) passes every file-name check; what gives it away is code handing a request
superglobal to a function that runs it. :mod:`.cmdi` reads the OS-command functions
with a literal argument (``system($_REQUEST['c'])``); this module reads the evaluating
ones and their usual wrappers:

- ``eval``, ``assert`` (a string is code before PHP 8), ``create_function``,
  ``call_user_func``/``array_map`` and the command functions, given ``$_GET``,
  ``$_POST``, ``$_REQUEST``, ``$_COOKIE``, ``$_SERVER`` or ``$_FILES`` as an argument,
  after other arguments or inside wrappers (``@eval(base64_decode($_POST['x']))``), never
  past a closing parenthesis (prose: "the system (bins) ... $_GET");
- a superglobal called as a function (``$_GET['f']($_GET['c'])``);
- ``preg_replace`` with the ``/e`` modifier (its replacement runs as code).

Every pattern is anchored on a literal and bounded; the text is the folded
(lower-cased) value.
"""

from __future__ import annotations

import re

from citywatch.detect.portal.catalog import Found

_SUPERGLOBAL = r"\$_(?:get|post|request|cookie|server|files)\b"
_RUNS_INPUT = re.compile(
    r"\b(?:eval|assert|create_function|call_user_func(?:_array)?|array_map|system|passthru"
    r"|shell_exec|exec|popen|proc_open|pcntl_exec)\s*+\([\w\s@'\",.(]{0,80}?"
    + _SUPERGLOBAL
    + r"|"
    + _SUPERGLOBAL
    + r"\s*+\[[^\]]{0,40}+\]\s*+\("
    r"|\bpreg_replace\s*+\(\s*+(['\"])([^\w\s\\'\"])[^'\"\n]{0,200}?\2[a-z]{0,8}?e[a-z]{0,8}?\1"
)


def php_code(text: str) -> Found | None:
    """A PHP one-liner that runs request input, in folded ``text``.

    >>> php_code("<?php @eval($_post['x']);?>")
    ('cmdi.web-shell', "eval($_post['x']);?>")
    >>> php_code('<?php preg_replace("/.*/e", $_post[1], "");')
    ('cmdi.web-shell', 'preg_replace("/.*/e", $_post[1], "");')
    >>> php_code("please evaluate ($_post office) my request") is None
    True
    """
    if "$_" not in text and "preg_replace" not in text:
        return None
    match = _RUNS_INPUT.search(text)
    if match is None:
        return None
    return "cmdi.web-shell", text[match.start() : match.start() + 60]
