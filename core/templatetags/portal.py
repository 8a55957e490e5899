"""Template filters shared by the pages: money as a clerk reads it."""

from decimal import Decimal, InvalidOperation

from django import template

from core.money import yuan
from core.text import mask_card

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


register.filter("mask_card", mask_card)


@register.filter
def get_item(mapping, key):
    """{{ mapping|get_item:key }} — a dict looked up by a variable."""
    return mapping.get(key) if hasattr(mapping, "get") else None
