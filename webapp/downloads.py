"""Files sent for download: the name in Content-Disposition, never built by hand.

Names often come from users (a definition's file name, a project code), so they are cleaned
first and then handed to Flask's `send_file`, which writes the header with RFC 6266 quoting
and an RFC 5987 `filename*` for names that are not ASCII.
"""

from __future__ import annotations

from io import BytesIO

from flask import Response, send_file

MAX_NAME = 150
_KEEP = frozenset("-_.+()[] ")


def download_name(name: str, fallback: str = "download") -> str:
    """`name` safe for Content-Disposition: letters, digits and -_.+()[] only, others as "_"."""
    cleaned = "".join(ch if ch in _KEEP or ch.isalnum() else "_" for ch in name)
    cleaned = cleaned.strip(" .")
    if len(cleaned) > MAX_NAME:
        stem, dot, suffix = cleaned.rpartition(".")
        cleaned = (stem[:MAX_NAME - len(suffix) - 1] + dot + suffix if dot and len(suffix) <= 10
                   else cleaned[:MAX_NAME])
    return cleaned or fallback


def send_download(data: bytes | str, name: str, mimetype: str, *, inline: bool = False) -> Response:
    """`data` as a file named `name` (cleaned), to save or, with `inline`, to show."""
    body = data.encode("utf-8") if isinstance(data, str) else data
    response = send_file(BytesIO(body), mimetype=mimetype, as_attachment=not inline,
                         download_name=download_name(name))
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
