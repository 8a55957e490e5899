from datetime import date


class MonthConverter:
    """2026-03 in a URL ⇄ date(2026, 3, 1)."""

    regex = r"\d{4}-(0[1-9]|1[0-2])"

    def to_python(self, value: str) -> date:
        return date(int(value[:4]), int(value[5:7]), 1)

    def to_url(self, value) -> str:
        return value if isinstance(value, str) else f"{value.year:04d}-{value.month:02d}"
