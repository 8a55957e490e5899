"""Domain errors: raised by services, shown as a message on pages and as JSON in the API."""


class ApplicationError(Exception):
    """A rule refused the operation. `message` is for the user (Chinese); `code` for machines."""

    code = "refused"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, detail=None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.detail = detail or {}


class NotFound(ApplicationError):
    code = "not_found"
    status = 404


class PermissionDenied(ApplicationError):
    code = "permission_denied"
    status = 403


class Conflict(ApplicationError):
    """The object changed since the user looked at it, or another run holds it."""

    code = "conflict"
    status = 409


class FileRejected(ApplicationError):
    """A whole file was refused before anything was stored."""

    code = "file_rejected"
