"""Template filters shared by the pages: money as a clerk reads it."""

from decimal import Decimal, InvalidOperation

from django import template

from core.money import quantize_money

register = template.Library()


@register.filter
def money(value, symbol="¥"):
    """¥1,234.56 (two places, thousands separated); "—" for nothing."""
    if value in (None, ""):
        return "—"
    try:
        amount = quantize_money(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return value
    sign = "-" if amount < 0 else ""
    return f"{sign}{symbol}{abs(amount):,.2f}"


@register.filter
def mask_card(value: str) -> str:
    """6401********1234: enough to find the card, not enough to copy it."""
    value = str(value or "")
    if len(value) <= 8:
        return value
    return value[:4] + "*" * (len(value) - 8) + value[-4:]
