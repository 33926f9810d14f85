"""Visible text of a page, and what in it is a code rather than a name.

The text is what a reader sees: text nodes of the body, without scripts, styles, templates,
hidden elements and attributes. A token is any run of ASCII letters, digits and `_@:.-`
that holds a letter; it is a finding unless it is an allowed form (ALLOWED_PATTERNS) or
word (ALLOWED_WORDS). Known codes (usernames, unit codes, role keys, process keys) are
findings even where the generic rule would let them pass.
"""

from __future__ import annotations

import re

import lxml.html

# What a Chinese page may show in ASCII.
ALLOWED_PATTERNS = [
    re.compile(r"^XM-\d{4}-\d{3}$"),                 # a project code
    re.compile(r"^\d{4}-Q[1-4]$"),                   # a quarter
    re.compile(r"^\d{4}-\d{2}(-\d{2})?$"),           # a month or a date
    re.compile(r"^\d{4}-W\d{2}$"),                   # a week
    re.compile(r"^\d+(\.\d+)?(%|h|s|ms|MB|KB|GB|px)?$"),  # numbers and units
    re.compile(r"^(DEMO-)?[A-Z]+(-[A-Z0-9]+)+$"),    # business keys (PERMIT-XM-2026-003)
    re.compile(r"^[A-Z]{1,3}\d*$"),                  # single capitals, column letters
    re.compile(r"^[0-9a-f]{64}$"),                   # a SHA-256 (the audit trail's 哈希 column)
    re.compile(r"^v\d+$"),                           # a process version (v3), as designers write it
]
ALLOWED_WORDS = {
    "Excel", "xlsx", "BPMN", "DMN", "API", "JSON", "CSV", "PDF", "ID", "HTTP", "HTTPS", "URL",
    "Camunda", "Modeler", "JUEL", "SLA", "PNG", "SVG", "XML", "QR", "OK", "GB", "MB", "KB",
    "English", "Python", "SHA-256", "Ed25519", "webhook", "Webhook", "Token", "token", "cron",
    "UTC", "Asia", "Shanghai", "PPP", "EPC", "Q1", "Q2", "Q3", "Q4",
    "Word", "PowerPoint", "OFD", "JPEG",  # the file types an attachment may be
}
TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_@:.\-/]*")
HIDDEN_TAGS = {"script", "style", "template", "noscript", "head"}


def visible_text(body: bytes) -> list[str]:
    """The visible text nodes of an HTML page, stripped, empty ones left out."""
    tree = lxml.html.fromstring(body)
    texts: list[str] = []

    def visit(element):
        if not isinstance(element.tag, str):
            return
        if element.tag in HIDDEN_TAGS or element.get("hidden") is not None \
                or element.get("type") == "hidden":
            return
        if element.text and element.text.strip():
            texts.append(element.text.strip())
        for child in element:
            visit(child)
            if child.tail and child.tail.strip():
                texts.append(child.tail.strip())

    visit(tree)
    return texts


def code_tokens(text: str, known: set[str], allowed: set[str] = frozenset()) -> list[str]:
    """The tokens of a text that are codes: known codes, and ASCII identifiers not allowed."""
    found = []
    for raw in TOKEN.findall(text):
        token = raw.strip(".:-/")
        if not token or not re.search(r"[A-Za-z]", token):
            continue
        if token in allowed:
            continue
        if token in known:
            found.append(token)
            continue
        if token in ALLOWED_WORDS or any(p.match(token) for p in ALLOWED_PATTERNS):
            continue
        found.append(token)
    return found
