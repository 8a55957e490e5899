"""The one money type and the one rounding function of the portal."""

from decimal import ROUND_HALF_UP, Decimal

FEN = Decimal("0.01")


def quantize_money(value) -> Decimal:
    """Round to the fen, half up (四舍五入), as every amount in the SPEC is rounded."""
    return Decimal(value).quantize(FEN, rounding=ROUND_HALF_UP)


def yuan(amount) -> str:
    """¥1,234.56 — an amount as clerks read it (negative as -¥12.00)."""
    value = quantize_money(amount)
    return f"{'-' if value < 0 else ''}¥{abs(value):,.2f}"
