"""HTML to PDF with WeasyPrint, for the clinical record.

WeasyPrint is imported when the first PDF is made, not when the web app starts: it needs the
system's Pango library, and a machine without it should still serve everything else."""

from __future__ import annotations

from pathlib import Path


class PdfUnavailableError(RuntimeError):
    """WeasyPrint or the system libraries it needs could not be loaded."""


def html_to_pdf(html: str, *, base_dir: Path) -> bytes:
    """The PDF of ``html``; relative links (the stylesheet) resolve in ``base_dir``. Only local
    files are read: nothing is fetched from the network."""
    try:
        from weasyprint import HTML  # noqa: PLC0415 - needs Pango; loaded on first use
        from weasyprint.urls import URLFetcher  # noqa: PLC0415
    except (ImportError, OSError) as exc:
        raise PdfUnavailableError(
            "PDF reports need WeasyPrint and the Pango library (Debian: apt-get install "
            f"libpango-1.0-0 libpangoft2-1.0-0); it could not be loaded: {exc}"
        ) from None
    fetcher = URLFetcher(allowed_protocols={"file"})
    document = HTML(string=html, base_url=base_dir.as_uri() + "/", url_fetcher=fetcher)
    return bytes(document.write_pdf())
