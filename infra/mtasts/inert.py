r"""Text from strangers stays text: one rendering rule per medium for values the kit did not write.

TLS-RPT reports, DNS answers, policy files, HTTP responses, SMTP replies and certificates are written by
strangers. The kit shows their values; it never lets them act on the reader's terminal, markdown or JSON consumer.

Terminal (:func:`inert`), applied by :mod:`mtasts.output` to every table cell and line the commands print, and by
the CLI to every ``error:`` / ``warning:`` line. These characters are shown as a Python-style escape, never raw:

- C0 controls U+0000–U+001F (ESC starts every CSI/OSC sequence: title changes, screen clears, OSC 8 hyperlinks,
  OSC 52 clipboard writes; BEL ends OSC; CR and BS overwrite what was printed), DEL U+007F, and C1 controls
  U+0080–U+009F (U+009B is a one-character CSI and U+009D an OSC on terminals that honour 8-bit controls):
  ``\x1b``, ``\x7f``, ``\x9b``. Newline and tab are escaped too (``\n``, ``\t``): a stranger's value is one
  line; the kit's own multi-line cells are split before the rule applies.
- Lone surrogates U+D800–U+DFFF (a JSON report may carry ``"\ud800"``): no UTF-8 encoding exists, so printing
  one raw would end the command with a traceback: ``\ud800``.
- Bidirectional controls U+061C, U+200E, U+200F, U+202A–U+202E and U+2066–U+2069 ("Trojan Source",
  CVE-2021-42574): they reorder what the terminal shows, so ``evil.example`` can read as something else.
  Line and paragraph separators U+2028/U+2029 (some terminals break lines at them) and U+FEFF as well.

A literal backslash is kept as it is: ``\x1b`` on screen may be four characters a stranger wrote, which is harmless
(it does nothing), and escaping every backslash would make ordinary values harder to read and copy.

Markdown (:func:`md_text`, :func:`md_code`) and JSON (:func:`json_text`) follow the same idea for their medium;
HTML pages escape through Jinja2 autoescaping and :func:`script_json`.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["inert", "inert_lines", "json_text", "md_code", "md_text", "no_autolinks", "script_json"]

#: Every character a terminal may act on or that reorders or breaks what it shows (see the module docstring).
_HAZARDS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if char == "\n":
        return "\\n"
    if char == "\t":
        return "\\t"
    if char == "\r":
        return "\\r"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def inert(value: object) -> str:
    """``value`` as one line a terminal only displays: every control, lone surrogate and bidi control escaped."""
    return _HAZARDS.sub(_escape, value if isinstance(value, str) else str(value))


def inert_lines(value: object) -> str:
    """Like :func:`inert` but keeps line breaks: for the kit's own multi-line prose that quotes outside values."""
    return "\n".join(inert(line) for line in str(value).split("\n"))


def json_text(document: Any, indent: int | None = 2) -> str:
    r"""``document`` as JSON that is valid and inert for any string in it.

    Every non-ASCII character is written as a ``\u`` escape (``ensure_ascii``): the output is pure ASCII, so a
    lone surrogate cannot make encoding it fail (it is written ``\ud800``, which the grammar of RFC 8259 §7
    allows and Python and JavaScript parsers read back as the same string), and no C1 or bidi control reaches a
    terminal the JSON is printed on (RFC 8259 §7 already requires C0 controls to be escaped).
    """
    return json.dumps(document, indent=indent, ensure_ascii=True)


def script_json(document: Any) -> str:
    """Compact :func:`json_text` for an HTML ``<script>`` element, with ``<``, ``>`` and ``&`` escaped too.

    No ``</script>`` or ``<!--`` in a value can then end the element or change how the browser parses it.
    """
    text = json.dumps(document, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


#: Characters that open or close an inline markdown construct (CommonMark §2.4: any ASCII punctuation may be
#: backslash-escaped): ``\`` escapes, `````` code spans, ``*`` emphasis, ``[]`` links and images, ``<>`` HTML and
#: autolinks, ``&`` entities, ``|`` table cells, ``@`` mentions (``_`` and ``~`` emphasis is left: it links nothing).
#: Values are only ever placed inline (in a table cell, a list item or after text), so block syntax (``#``, ``-``,
#: ``1.``) cannot start there.
_MD_SPECIAL = re.compile(r"([\\`*\[\]<>&|@])")


def md_text(value: object) -> str:
    """``value`` as markdown text that renders literally, on one line, inside a paragraph, list item or table cell.

    Controls are escaped as for the terminal (a newline cannot end a table row or start a block), and every
    character of :data:`_MD_SPECIAL` gets a backslash, so no link, image, autolink, ``*`` emphasis, HTML tag,
    entity, code span or table ``|`` can come from the value. GitHub also turns ``@name`` into a mention and bare
    ``www.``/``https://``/``a@b.example`` into links whatever the backslashes; a U+2060 WORD JOINER after ``@``,
    inside ``://`` and after ``www`` stops those and does not show.
    """
    return _AUTOLINKS.sub("\\g<1>\u2060", _MD_SPECIAL.sub(r"\\\1", inert(value)))


#: What GitHub, Slack and Teams turn into a link or a notification by themselves, whatever the markup around it:
#: ``@name`` mentions (and e-mail addresses), ``://`` of bare URLs and ``www.`` (GFM extended autolinks).
_AUTOLINKS = re.compile(r"(?i)(@|:(?=//)|\bwww(?=\.))")


def no_autolinks(value: object) -> str:
    """``value`` inert, with U+2060 WORD JOINER (invisible) breaking what chat services link or notify on.

    For Slack ``mrkdwn`` and Teams Adaptive Card text, which link bare URLs (``https://``, ``www.``) and e-mail
    addresses and notify on ``@`` names whatever the surrounding markup: the joiner follows ``@``, sits inside
    ``://`` and follows ``www`` before ``.``, as in :func:`md_text`.
    """
    return _AUTOLINKS.sub("\\g<1>\u2060", inert(value))


def md_code(value: object) -> str:
    """``value`` as an inline code span that shows it literally (CommonMark §6.1), on one line.

    The fence is one backtick longer than the longest run of backticks in the value (and padded with a space when
    the value starts or ends with one), so the value can neither close the span early nor open a code block; ``|``
    is escaped because GitHub splits table cells at it even inside code spans. Code spans never hold links, mentions
    or HTML.
    """
    text = inert(value).replace("|", "\\|")
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * (longest + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") else text  # CommonMark strips one space
    return f"{fence}{padded}{fence}" if text else "` `"
