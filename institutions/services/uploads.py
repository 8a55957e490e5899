"""Checks for uploaded documents (materials, scans): size and real type, not the file name."""

from django.conf import settings

from core.errors import ApplicationError

_SIGNATURES = {
    b"%PDF-": "pdf",
    b"\x89PNG\r\n\x1a\n": "png",
    b"\xff\xd8\xff": "jpg",
}


def check_document(upload) -> str:
    """Return the detected kind (pdf/png/jpg) or refuse with a message."""
    limit = settings.PORTAL_MAX_MATERIAL_UPLOAD_BYTES
    if upload.size > limit:
        raise ApplicationError(
            f"文件“{upload.name}”大小 {upload.size / 1024 / 1024:.1f} MB，超过上限 {limit // 1024 // 1024} MB。",
            code="file_too_large",
        )
    if upload.size == 0:
        raise ApplicationError(f"文件“{upload.name}”为空。", code="empty_file")
    head = upload.read(16)
    upload.seek(0)
    for magic, kind in _SIGNATURES.items():
        if head.startswith(magic):
            return kind
    raise ApplicationError(f"文件“{upload.name}”不是 PDF、PNG 或 JPG 文件。", code="bad_file_type")
