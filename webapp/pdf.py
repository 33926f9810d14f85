"""HTML pages to PDF with WeasyPrint, fetching nothing: a page may not make the server read a
file or call a URL (its styles are inline, its fonts the system's: fonts-wqy-microhei).

WeasyPrint is imported on first use: a server without pango still serves every other page.
"""

from __future__ import annotations


class PdfUnavailableError(RuntimeError):
    """WeasyPrint or the system libraries it needs (pango) are not installed."""


def html_to_pdf(html: str) -> bytes:
    """The PDF of a self-contained HTML page."""
    try:
        from weasyprint import HTML
        from weasyprint.urls import URLFetcher, URLFetchingError
    except (ImportError, OSError) as exc:
        raise PdfUnavailableError(f"WeasyPrint cannot run here: {exc}") from exc

    class FetchNothing(URLFetcher):
        """Refuses every URL (file:, http:, data: alike); the page is rendered without it."""

        def fetch(self, url, headers=None):
            raise URLFetchingError(f"the PDF renderer fetches nothing ({url[:80]})")

    return HTML(string=html, url_fetcher=FetchNothing(), base_url=None).write_pdf()
