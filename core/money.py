"""The one money type and the one rounding function of the portal."""

from decimal import ROUND_HALF_UP, Decimal

FEN = Decimal("0.01")


def quantize_money(value) -> Decimal:
    """Round to the fen, half up (四舍五入), as every amount in the SPEC is rounded."""
    return Decimal(value).quantize(FEN, rounding=ROUND_HALF_UP)
