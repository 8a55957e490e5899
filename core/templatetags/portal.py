"""Template filters shared by the pages: money as a clerk reads it."""

from decimal import Decimal, InvalidOperation

from django import template

from core.money import yuan

register = template.Library()


@register.filter
def money(value):
    """¥1,234.56 (two places, thousands separated); "—" for nothing."""
    if value in (None, ""):
        return "—"
    try:
        return yuan(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return value


@register.filter
def mask_card(value: str) -> str:
    """6401********1234: enough to find the card, not enough to copy it."""
    value = str(value or "")
    if len(value) <= 8:
        return value
    return value[:4] + "*" * (len(value) - 8) + value[-4:]
