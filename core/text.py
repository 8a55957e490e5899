"""Normalising the messy text of official tables: only what is safe to normalise."""

import re

_WS = re.compile(r"\s+")
# Dashes that stand for "-" in phone numbers: em dash, en dash, full-width hyphen-minus, minus.
_DASHES = str.maketrans({"—": "-", "–": "-", "－": "-", "−": "-", "―": "-"})
_PHONE_SPLIT = re.compile(r"[/／,，、;；\s]+")


def squash(text) -> str:
    """Remove every white space, including line breaks and ideographic spaces (名称 有限 公司)."""
    return _WS.sub("", str(text or "").replace("\u3000", " "))


def tidy(text) -> str:
    """Collapse runs of white space to one space and strip the ends (addresses keep inner spaces)."""
    return _WS.sub(" ", str(text or "").replace("\u3000", " ")).strip()


def split_phones(text) -> list[str]:
    """Several numbers in one cell become a list; dashes are normalised, extensions (转38320) kept."""
    cleaned = str(text or "").translate(_DASHES)
    return [p for p in (part.strip() for part in _PHONE_SPLIT.split(cleaned)) if p]


def chinese_date(d) -> str:
    """2026年4月1日 — how dates are written in agreements, notices and reminders."""
    return f"{d.year}年{d.month}月{d.day}日"


def mask_card(card) -> str:
    """6401**********1234: enough to find a social-security card, not enough to copy it."""
    card = str(card or "")
    if len(card) <= 8:
        return card
    return card[:4] + "*" * (len(card) - 8) + card[-4:]
