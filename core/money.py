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


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_PLACES = ("", "拾", "佰", "仟")
_GROUPS = ("", "万", "亿", "万亿")


def rmb_upper(value) -> str:
    """1,005.20 → 壹仟零伍元贰角整: the amount in capitals, as a payment document writes it."""
    amount = quantize_money(value or 0)
    sign = "负" if amount < 0 else ""
    fen_total = int(abs(amount) * 100)
    yuan_part, jiao, fen = fen_total // 100, fen_total // 10 % 10, fen_total % 10
    if fen_total == 0:
        return "零元整"
    text = ""
    if yuan_part:
        groups = []
        while yuan_part:
            groups.append(yuan_part % 10000)
            yuan_part //= 10000
        zero_before = False
        for index in range(len(groups) - 1, -1, -1):
            group = groups[index]
            if group == 0:
                zero_before = bool(text)
                continue
            if text and (zero_before or group < 1000):
                text += "零"
            text += _group_upper(group) + _GROUPS[index]
            zero_before = False
        text += "元"
    if jiao:
        text += _DIGITS[jiao] + "角"
    elif text and fen:
        text += "零"
    text += _DIGITS[fen] + "分" if fen else "整"
    return sign + text


def _group_upper(group: int) -> str:
    text, zero = "", False
    for place in range(3, -1, -1):
        digit = group // 10**place % 10
        if digit == 0:
            zero = bool(text)
            continue
        if zero:
            text += "零"
            zero = False
        text += _DIGITS[digit] + _PLACES[place]
    return text


def percent(rate: Decimal) -> str:
    """0.1000 → 10%, 0.0850 → 8.5%."""
    return f"{(rate * 100).normalize():f}%"
