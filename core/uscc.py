"""Unified social credit code (统一社会信用代码, GB 32100-2015)."""

from dataclasses import dataclass

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
WEIGHTS = [pow(3, i, 31) for i in range(17)]


@dataclass(frozen=True)
class UsccCheck:
    ok: bool
    reason: str = ""  # Chinese, for the import report and the form


def check_character(first17: str) -> str:
    total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS))
    return ALPHABET[(31 - total % 31) % 31]


def validate_uscc(code: str) -> UsccCheck:
    """Check length, alphabet and check character. Never corrects anything."""
    if not code:
        return UsccCheck(False, "统一社会信用代码为空")
    if len(code) != 18:
        return UsccCheck(False, f"统一社会信用代码格式错误：长度为{len(code)}位，应为18位")
    bad = sorted({c for c in code if c not in _VALUE})
    if bad:
        return UsccCheck(False, "统一社会信用代码格式错误：含非法字符 " + "、".join(repr(c) for c in bad))
    expected = check_character(code[:17])
    if code[17] != expected:
        return UsccCheck(False, f"统一社会信用代码校验位错误：末位为 {code[17]}，按校验规则应为 {expected}")
    return UsccCheck(True)
