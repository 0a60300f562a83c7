"""HTML to PDF with WeasyPrint, for the clinical record."""

from __future__ import annotations

from pathlib import Path

from weasyprint import HTML
from weasyprint.urls import URLFetcher


def html_to_pdf(html: str, *, base_dir: Path) -> bytes:
    """The PDF of ``html``; relative links (the stylesheet) resolve in ``base_dir``. Only local
    files are read: nothing is fetched from the network."""
    fetcher = URLFetcher(allowed_protocols={"file"})
    document = HTML(string=html, base_url=base_dir.as_uri() + "/", url_fetcher=fetcher)
    return bytes(document.write_pdf())
