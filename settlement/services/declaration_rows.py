"""One declared line, checked (SPEC §8, declarations file): the same rules whether the line came
from a file, the entry form, the API or the command line.

The checks run once per row of files of a million lines, so they avoid Decimal and keep amounts
as whole fen (ints) while checking: in-scope + self-paid + non-injury must equal the total
exactly. The normalised text ("12.50") goes to the database, which stores it as numeric(14, 2).
"""

import hashlib
import re
import uuid
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, datetime

from core.text import squash

from ..models import Category
from .periods import month_code, month_label, parse_period

# (key, header as in SPEC §8)
COLUMNS = [
    ("code", "机构编码"),
    ("period", "结算月份"),
    ("card_no", "社会保障卡号"),
    ("name", "姓名"),
    ("category", "类别"),
    ("visit_date", "就诊日期"),
    ("discharge_date", "出院日期"),
    ("total", "总费用"),
    ("in_scope", "统筹范围内费用"),
    ("self_paid", "个人自付"),
    ("non_injury", "非工伤费用"),
]
HEADERS = [h for _, h in COLUMNS]
KEYS = [k for k, _ in COLUMNS]
# Amount columns that may be left blank for zero; the total and the in-scope amount may not.
BLANK_IS_ZERO = {"self_paid", "non_injury"}
AMOUNT_LABELS = {"total": "总费用", "in_scope": "统筹范围内费用", "self_paid": "个人自付", "non_injury": "非工伤费用"}

CATEGORY_BY_TEXT = {c.label: c.value for c in Category} | {c.value: c.value for c in Category}
MAX_FEN = 10**12 * 100 - 1  # numeric(14, 2)

_AMOUNT = re.compile(r"([0-9]{1,12})(?:\.([0-9]*))?")
_DATE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?")


def header_key(cell) -> str:
    """A header cell as a column: stray spaces and line breaks go, and so does a format hint in
    brackets (结算月份 (YYYY-MM), 类别（住院|门诊|康复|辅助器具）)."""
    text = squash(cell)
    return re.sub(r"[（(].*[)）]$", "", text)


@dataclass(frozen=True)
class Target:
    """What a row's 机构编码 resolves to."""

    institution_id: int
    division_code: str
    agency_id: int


@dataclass
class GoodRow:
    row_no: int
    target: Target
    period: date
    fingerprint: uuid.UUID
    card_no: str
    name: str
    category: str
    visit_date: date
    discharge_date: date | None
    amounts: tuple[str, str, str, str]  # total, in_scope, self_paid, non_injury as "12.50"


class RowError(Exception):
    """Why a row is refused (Chinese, shown with its row number)."""


def parse_amount(text, label: str, *, blank_zero: bool) -> int:
    """Whole fen from "1234.5": no sign, at most two decimals, no thousands separators."""
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    text = (text or "").strip() if isinstance(text, str) else str(text)
    if not text:
        if blank_zero:
            return 0
        raise RowError(f"{label}不能为空")
    m = _AMOUNT.fullmatch(text)
    if m is None:
        if text.startswith("-") and _AMOUNT.fullmatch(text[1:]):
            raise RowError(f"{label}“{text}”为负数，金额不能为负")
        raise RowError(f"{label}“{text}”不是有效金额（应为数字，最多两位小数，如 1234.50）")
    whole, frac = m.group(1), m.group(2) or ""
    if len(frac) > 2:
        raise RowError(f"{label}“{text}”超过两位小数（金额精确到分）")
    fen = int(whole) * 100 + int((frac + "00")[:2])
    if fen > MAX_FEN:
        raise RowError(f"{label}“{text}”超出金额上限")
    return fen


def fen_text(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def parse_date(value, label: str, *, required: bool) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = squash(value)
    if not text:
        if required:
            raise RowError(f"{label}不能为空")
        return None
    m = _DATE.fullmatch(text)
    if m is None and len(text) == 8 and text.isdigit():
        m = re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text)
    if m is None:
        raise RowError(f"{label}“{text}”不是有效日期（应为 YYYY-MM-DD）")
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise RowError(f"{label}“{text}”不是有效日期") from None


def cell_text(value) -> str:
    """A cell as text: XLSX numbers that are whole come back without ".0"; None is ""."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        # An XLSX numeric cell: repr gives the shortest text that reads back as the same number
        # (what Excel displays), so 1234.5 stays "1234.5" and 0.125 stays three decimals.
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    return str(value)


class RowChecker:
    """Checks rows against the institutions the caller may declare for.

    resolve(code) -> Target | None: None when the code is unknown or outside the caller's scope
    (the message does not tell the two apart, so that a guessed code confirms nothing).
    month_rule(target, period) -> (error or "", late): deadlines, frozen months, closed months.
    """

    def __init__(self, *, resolve, month_rule, forced_period: date | None = None):
        self.resolve = resolve
        self.month_rule = month_rule
        self.forced_period = forced_period
        self._targets: dict[str, Target | None] = {}
        self._periods: dict[str, date | None] = {}
        self._month_rules: dict[tuple[int, date], tuple[str, bool]] = {}

    def _target(self, code: str) -> Target:
        if code not in self._targets:
            self._targets[code] = self.resolve(code) if code else None
        target = self._targets[code]
        if target is None:
            if not code:
                raise RowError("机构编码不能为空")
            raise RowError(f"机构编码“{code}”不存在或不属于您可申报的机构")
        return target

    def _period(self, text: str) -> date:
        if not text:
            if self.forced_period:
                return self.forced_period
            raise RowError("结算月份不能为空（应为 YYYY-MM）")
        if text not in self._periods:
            self._periods[text] = parse_period(text)
        period = self._periods[text]
        if period is None:
            raise RowError(f"结算月份“{text}”无效（应为 YYYY-MM，如 2026-03）")
        if self.forced_period and period != self.forced_period:
            raise RowError(f"结算月份“{text}”与指定的月份 {month_code(self.forced_period)} 不符")
        return period

    def check(self, row_no: int, cells: dict) -> tuple[GoodRow, bool]:
        """(the row, late) or RowError with every reason found, joined."""
        errors = []

        def attempt(fn, *args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except RowError as exc:
                errors.append(str(exc))
                return None

        code = squash(cells.get("code"))
        target = attempt(self._target, code)
        period = attempt(self._period, squash(cells.get("period")))
        card_no = squash(cells.get("card_no"))
        name = squash(cells.get("name"))
        if not card_no:
            errors.append("社会保障卡号不能为空")
        elif len(card_no) > 30:
            errors.append("社会保障卡号超过30位")
        if not name:
            errors.append("姓名不能为空")
        elif len(name) > 50:
            errors.append("姓名超过50个字")
        category_text = squash(cells.get("category"))
        category = CATEGORY_BY_TEXT.get(category_text)
        if category is None:
            errors.append(f"类别“{category_text}”无效（应为 住院、门诊、康复 或 辅助器具）" if category_text else "类别不能为空")
        visit = attempt(parse_date, cells.get("visit_date"), "就诊日期", required=True)
        discharge = attempt(parse_date, cells.get("discharge_date"), "出院日期", required=False)
        fen = {}
        for key, label in AMOUNT_LABELS.items():
            fen[key] = attempt(parse_amount, cells.get(key), label, blank_zero=key in BLANK_IS_ZERO)
        if None not in fen.values() and fen["in_scope"] + fen["self_paid"] + fen["non_injury"] != fen["total"]:
            parts = fen["in_scope"] + fen["self_paid"] + fen["non_injury"]
            errors.append(
                f"统筹范围内费用＋个人自付＋非工伤费用＝{fen_text(parts)}，与总费用 {fen_text(fen['total'])} 不符"
            )
        if visit and discharge and discharge < visit:
            errors.append("出院日期早于就诊日期")
        if period and (discharge or visit):
            last = period.replace(day=monthrange(period.year, period.month)[1])
            if (discharge or visit) > last:
                which = "出院日期" if discharge else "就诊日期"
                errors.append(f"{which}晚于结算月份{month_label(period)}，不能申报尚未发生的费用")
        late = False
        if target and period:
            key = (target.institution_id, period)
            if key not in self._month_rules:
                self._month_rules[key] = self.month_rule(target, period)
            refusal, late = self._month_rules[key]
            if refusal:
                errors.append(refusal)
        if errors:
            raise RowError("；".join(errors))
        amounts = tuple(fen_text(fen[k]) for k in AMOUNT_LABELS)
        fingerprint = row_fingerprint(
            code, period, card_no, name, category, visit, discharge, amounts
        )
        return GoodRow(row_no, target, period, fingerprint, card_no, name, category, visit, discharge, amounts), late


def row_fingerprint(code, period, card_no, name, category, visit, discharge, amounts) -> uuid.UUID:
    """The same declared row, however it was typed (12.5 or 12.50, 2026/3/5 or 2026-03-05),
    has the same fingerprint; any difference in any cell makes a different line."""
    text = "|".join(
        [code, period.isoformat(), card_no, name, category, visit.isoformat(), discharge.isoformat() if discharge else "", *amounts]
    )
    return uuid.UUID(bytes=hashlib.md5(text.encode("utf-8"), usedforsecurity=False).digest())
