"""One declared line, checked (SPEC §8, declarations file): the same rules whether the line came
from a file, the entry form, the API or the command line.

The checks run once per row of files of a million lines, so they avoid Decimal and keep amounts
as whole fen (ints) while checking: in-scope + self-paid + non-injury must equal the total
exactly. The normalised text ("12.50") goes to the database, which stores it as numeric(14, 2).

A row is first tried on a fast path that only recognises well-formed rows in their usual shape
(plain text cells, amounts like 1234.50, dates like 2026-03-05) and gives up on anything else;
the full check then runs and produces every message. So the fast path never decides a refusal,
and a row it accepts is exactly the row the full check would have built (docs/performance.md).
"""

import hashlib
import re
import uuid
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache

from django.utils import translation

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

MAX_FEN = 10**12 * 100 - 1  # numeric(14, 2)

_AMOUNT = re.compile(r"([0-9]{1,12})(?:\.([0-9]*))?")
_DATE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?")


@cache
def category_by_text() -> dict[str, str]:
    """类别 as written (住院, or the stored value inpatient) → the stored value.

    Keyed by plain strings: the labels are lazy translations, and a dict keyed by them compares
    each lookup through the translation machinery (a third of the time of a row). The file format
    is Chinese (SPEC §8), so the key is the label's source text, whatever language is active."""
    with translation.override(None):
        return {str(c.label): c.value for c in Category} | {c.value: c.value for c in Category}


def _squash(text) -> str:
    """squash(), returning a plain cell that holds no white space as it is (the usual case)."""
    # White space is " " or a non-printable character (str.isspace ⊂ " " ∪ not isprintable),
    # so such a string is what squash would return.
    if type(text) is str and " " not in text and text.isprintable():
        return text
    return squash(text)


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


@dataclass(slots=True)
class GoodRow:
    row_no: int
    target: Target
    period: date
    # The fingerprint as 32 hex digits: building a uuid.UUID per row costs more than the md5.
    fingerprint_hex: str
    card_no: str
    name: str
    category: str
    visit_date: date
    discharge_date: date | None
    amounts: tuple[str, str, str, str]  # total, in_scope, self_paid, non_injury as "12.50"
    # ISO texts of the dates, which the fingerprint and the staging COPY both need.
    visit_iso: str = ""
    discharge_iso: str = ""

    @property
    def fingerprint(self) -> uuid.UUID:
        return uuid.UUID(self.fingerprint_hex)


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


_CANONICAL_AMOUNT = re.compile(r"(?:0|[1-9][0-9]{0,11})\.[0-9]{2}").fullmatch  # as fen_text writes it


def _fast_amount(text, blank_zero: bool):
    """(fen, normalised text) of an amount written plainly (1234.50, 12.5, 300), else None.

    Only for text that parse_amount accepts unchanged: ASCII digits, at most 12 before the point
    and 2 after, no sign or spaces. Anything else (and every error) is left to parse_amount."""
    if type(text) is not str:
        return None
    if _CANONICAL_AMOUNT(text):  # the usual "1234.50": already normalised
        return int(text[:-3]) * 100 + int(text[-2:]), text
    if not text:
        return (0, "0.00") if blank_zero else None
    whole, _, frac = text.partition(".")
    if not (whole.isascii() and whole.isdigit() and len(whole) <= 12):
        return None
    if frac and not (len(frac) <= 2 and frac.isascii() and frac.isdigit()):
        return None
    fen = int(whole) * 100 + int((frac + "00")[:2])  # ≤ 999999999999.99, never above MAX_FEN
    if len(frac) == 2 and (whole[0] != "0" or len(whole) == 1):
        return fen, text  # already as fen_text writes it
    return fen, fen_text(fen)


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
        # Fast-path caches, keyed by the cell as sent: a month has few distinct months and days.
        # Bounded, so a file of a million different dates cannot grow them without limit.
        self._fast_periods: dict[str, tuple[date, str, date]] = {}  # → (period, iso, last day)
        self._fast_visits: dict[str, tuple[date, str]] = {}
        self._fast_discharges: dict[str, tuple[date | None, str]] = {"": (None, "")}
        self._categories = category_by_text()

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
            # Excel turns a typed "2026-10" into the date 2026-10-01: the first of a month is that month.
            month_text = text[:7] if re.fullmatch(r"\d{4}-\d{2}-01(?:00:00:00)?", text) else text
            self._periods[text] = parse_period(month_text)
        period = self._periods[text]
        if period is None:
            raise RowError(f"结算月份“{text}”无效（应为 YYYY-MM，如 2026-03）")
        if self.forced_period and period != self.forced_period:
            raise RowError(f"结算月份“{text}”与指定的月份 {month_code(self.forced_period)} 不符")
        return period

    def check(self, row_no: int, cells: dict) -> tuple[GoodRow, bool]:
        """(the row, late) or RowError with every reason found, joined."""
        fast = self._check_fast(row_no, cells)
        if fast is not None:
            return fast
        return self._check_full(row_no, cells)

    def _check_fast(self, row_no: int, cells: dict) -> tuple[GoodRow, bool] | None:
        """The well-formed row in its usual shape, or None: then _check_full decides.

        Every test here is one of _check_full's, in a form that only ever says yes to what
        _check_full accepts, and the values built are the ones it builds. It never raises."""
        try:
            code_raw, period_raw = cells["code"], cells["period"]
            card_raw, name_raw, category_raw = cells["card_no"], cells["name"], cells["category"]
            visit_raw, discharge_raw = cells["visit_date"], cells["discharge_date"]
            amount_raws = cells["total"], cells["in_scope"], cells["self_paid"], cells["non_injury"]
        except KeyError:
            return None
        code = _squash(code_raw)
        target = self._targets.get(code)
        if target is None:
            if code in self._targets:
                return None
            try:
                target = self._target(code)
            except RowError:
                return None
        if type(period_raw) is not str:
            return None
        month = self._fast_periods.get(period_raw)
        if month is None:
            try:
                period = self._period(squash(period_raw))
            except RowError:
                return None
            month = (period, period.isoformat(), period.replace(day=monthrange(period.year, period.month)[1]))
            if len(self._fast_periods) < _FAST_CACHE:
                self._fast_periods[period_raw] = month
        period, period_iso, last_day = month
        card_no = _squash(card_raw)
        name = _squash(name_raw)
        if not card_no or len(card_no) > 30 or not name or len(name) > 50:
            return None
        category = self._categories.get(_squash(category_raw))
        if category is None:
            return None
        visit = _fast_date(self._fast_visits, visit_raw, required=True)
        discharge = _fast_date(self._fast_discharges, discharge_raw, required=False)
        if visit is None or discharge is None:
            return None
        visit_date, visit_iso = visit
        discharge_date, discharge_iso = discharge
        total = _fast_amount(amount_raws[0], False)
        in_scope = _fast_amount(amount_raws[1], False)
        self_paid = _fast_amount(amount_raws[2], True)
        non_injury = _fast_amount(amount_raws[3], True)
        if total is None or in_scope is None or self_paid is None or non_injury is None:
            return None
        if in_scope[0] + self_paid[0] + non_injury[0] != total[0]:
            return None
        if discharge_date is not None and discharge_date < visit_date:
            return None
        if (discharge_date or visit_date) > last_day:
            return None
        key = (target.institution_id, period)
        rule = self._month_rules.get(key)
        if rule is None:
            rule = self._month_rules[key] = self.month_rule(target, period)
        refusal, late = rule
        if refusal:
            return None
        amounts = (total[1], in_scope[1], self_paid[1], non_injury[1])
        fingerprint = _fingerprint_hex(code, period_iso, card_no, name, category, visit_iso, discharge_iso, amounts)
        row = GoodRow(
            row_no, target, period, fingerprint, card_no, name, category, visit_date, discharge_date, amounts,
            visit_iso, discharge_iso,
        )
        return row, late

    def _check_full(self, row_no: int, cells: dict) -> tuple[GoodRow, bool]:
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
        category = self._categories.get(category_text)
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
        visit_iso, discharge_iso = visit.isoformat(), discharge.isoformat() if discharge else ""
        fingerprint = _fingerprint_hex(code, period.isoformat(), card_no, name, category, visit_iso, discharge_iso, amounts)
        row = GoodRow(
            row_no, target, period, fingerprint, card_no, name, category, visit, discharge, amounts, visit_iso, discharge_iso
        )
        return row, late


_FAST_CACHE = 4096


def _fast_date(seen: dict, raw, *, required: bool):
    """(date, ISO text) of a date cell through a small cache, or None where parse_date refuses
    it (the full check then says why). A blank optional date is (None, "")."""
    hit = seen.get(raw) if type(raw) is str else None
    if hit is not None:
        return hit
    try:
        value = parse_date(raw, "", required=required)
    except RowError:
        return None
    hit = (value, value.isoformat() if value else "")
    if type(raw) is str and len(seen) < _FAST_CACHE:
        seen[raw] = hit
    return hit


def _fingerprint_hex(code, period_iso, card_no, name, category, visit_iso, discharge_iso, amounts) -> str:
    text = "|".join((code, period_iso, card_no, name, category, visit_iso, discharge_iso, *amounts))
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def row_fingerprint(code, period, card_no, name, category, visit, discharge, amounts) -> uuid.UUID:
    """The same declared row, however it was typed (12.5 or 12.50, 2026/3/5 or 2026-03-05),
    has the same fingerprint; any difference in any cell makes a different line."""
    return uuid.UUID(
        _fingerprint_hex(
            code, period.isoformat(), card_no, name, category, visit.isoformat(),
            discharge.isoformat() if discharge else "", amounts,
        )
    )
