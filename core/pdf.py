"""PDFs from HTML templates with WeasyPrint (CJK glyphs from Noto Sans/Serif CJK)."""

from django.conf import settings


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML  # imported here: loading Pango costs time at start-up

    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()
