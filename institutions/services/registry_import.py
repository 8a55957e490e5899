"""import_registry (SPEC §2, §8): one official table into the registry, idempotently.

Rules this module keeps:
- A file is refused whole (clear message, nothing stored) when its shape is wrong; see tables.py.
- A row whose credit code fails GB 32100 is stored, flagged 待核实, and named in the report; the
  code is never "corrected". A failing code never overwrites a stored code that passes.
- Each row is compared with the row this designation was last imported from (Designation.source),
  so re-importing a file changes nothing, even where two tables disagree about one institution.
- A row that matches an institution already registered under another table creates the new
  designation but does not overwrite the institution: the differences are reported instead.
"""

from dataclasses import dataclass, field
from datetime import date

from django.db import connection, transaction

from core.errors import FileRejected
from core.models import Sequence
from core.text import split_phones, squash, tidy
from core.uscc import validate_uscc

from ..models import Designation, DesignationType, Institution, LegalEntity, Ownership
from ..tables import COLUMNS, parse_table, read_bytes
from .agencies import agency_for_division, agency_get_or_create

OWNERSHIP_BY_LABEL = {o.label: o.value for o in Ownership}
# Keys of a normalised row that live on the institution rather than on the designation.
INSTITUTION_KEYS = ("name", "uscc", "city_name", "division_code", "address", "phones", "grade", "ownership")
FIELD_LABELS = {
    "name": "机构名称", "uscc": "统一社会信用代码", "city_name": "地市名称", "division_code": "行政区划代码",
    "address": "地址", "phones": "联系电话", "grade": "医疗等级", "ownership": "医院属性",
    "agency": "经办机构", "agency_phone": "经办机构联系电话", "seq_no": "序号",
}


STATUS_LABELS = {"created": "新增", "updated": "更新", "unchanged": "未变", "rejected": "拒绝"}


@dataclass
class RowOutcome:
    line: int
    seq_no: str
    name: str
    status: str  # created | updated | unchanged | rejected
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    institution_code: str = ""

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


@dataclass
class ImportReport:
    type: str
    rows: list[RowOutcome] = field(default_factory=list)
    agencies_created: list[str] = field(default_factory=list)
    agreements_created: int = 0

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status == status)

    @property
    def created(self) -> int:
        return self.count("created")

    @property
    def updated(self) -> int:
        return self.count("updated")

    @property
    def unchanged(self) -> int:
        return self.count("unchanged")

    @property
    def rejected(self) -> int:
        return self.count("rejected")

    @property
    def flagged_rows(self) -> list[RowOutcome]:
        return [r for r in self.rows if r.flags]

    @property
    def flagged(self) -> int:
        return len(self.flagged_rows)

    def as_text(self) -> str:
        label = DesignationType(self.type).label
        lines = [
            f"{label}名单导入完成：共 {len(self.rows)} 行，新增 {self.created}，更新 {self.updated}，"
            f"未变 {self.unchanged}，待核实 {self.flagged}，拒绝 {self.rejected}。",
            f"created={self.created} updated={self.updated} unchanged={self.unchanged} "
            f"flagged={self.flagged} rejected={self.rejected}",
        ]
        for r in self.flagged_rows:
            lines.append(f"  待核实 序号 {r.seq_no}（第{r.line}行，{r.name}）：" + "；".join(r.flags))
        for r in self.rows:
            if r.status == "rejected":
                lines.append(f"  拒绝 序号 {r.seq_no or '?'}（第{r.line}行）：" + "；".join(r.notes))
        for r in self.rows:
            if r.status != "rejected" and r.notes:
                lines.append(f"  提示 序号 {r.seq_no}（{r.name}）：" + "；".join(r.notes))
        for name in self.agencies_created:
            lines.append(f"  新建经办机构：{name}")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {
            "type": self.type,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "flagged": self.flagged,
            "rejected": self.rejected,
            "rows": [r.__dict__ for r in self.rows],
            "agencies_created": self.agencies_created,
            "agreements_created": self.agreements_created,
        }


def normalise_row(type_: str, values: dict[str, str]) -> tuple[dict, list[str], list[str]]:
    """(normalised values, reasons to reject, notes). Only white space and dashes are normalised."""
    errors, notes = [], []
    row = {
        "seq_no": squash(values.get("seq_no")),
        "name": squash(values.get("name")),
        "uscc": squash(values.get("uscc")),
        "city_name": squash(values.get("city_name")),
        "division_code": squash(values.get("division_code")),
        "address": tidy(values.get("address")),
        "phones": split_phones(values.get("phone")),
        "grade": squash(values.get("grade")),
        "ownership": "",
        "agency": squash(values.get("agency")),
        "agency_phone": "/".join(split_phones(values.get("agency_phone"))),
    }
    if not row["seq_no"].isdigit() or int(row["seq_no"]) == 0:
        errors.append(f"序号“{values.get('seq_no', '')}”不是正整数")
    if not row["name"]:
        errors.append("机构名称为空")
    elif row["name"] != tidy(values.get("name")):
        notes.append("名称中的空格已去除（原文：" + tidy(values.get("name")) + "）")
    raw_ownership = squash(values.get("ownership"))
    if raw_ownership:
        row["ownership"] = OWNERSHIP_BY_LABEL.get(raw_ownership, "")
        if not row["ownership"]:
            notes.append(f"医院属性“{raw_ownership}”无法识别（应为公立或私立），未登记")
    if type_ != DesignationType.DEVICES and not row["agency"]:
        errors.append("经办机构为空")
    if len(row["phones"]) > 1:
        notes.append(f"联系电话拆分为 {len(row['phones'])} 个号码")
    return row, errors, notes


def _row_flags(row: dict) -> list[str]:
    flags = []
    check = validate_uscc(row["uscc"])
    if not check.ok:
        flags.append(check.reason)
    code = row["division_code"]
    if not (len(code) == 6 and code.isdigit() and code.startswith("64")):
        flags.append(f"行政区划代码“{code}”不是宁夏的6位代码")
    return flags


def _original_cells(type_: str, values: dict[str, str]) -> dict[str, str]:
    return {c.header: values.get(c.key, "") for c in COLUMNS[type_] if values.get(c.key, "")}


@transaction.atomic
def registry_import(*, fh, type_: str, name: str = "", as_of: date | None = None, actor=None) -> ImportReport:
    """Read `fh` (CSV or XLSX bytes) as the official table of `type_` and bring the registry in line.

    `actor` is the clerk importing through a page or the API: a city or county agency's clerk may
    import the whole regional table, but only the rows of its own agency are applied; the others
    are reported as outside its scope. The command line (actor None) is the operators' tool.
    """
    if type_ not in DesignationType.values:
        raise FileRejected(f"未知的名单类型“{type_}”，应为 medical、rehabilitation 或 devices。", code="bad_type")
    table = parse_table(read_bytes(fh, name), type_, name)
    if connection.vendor == "postgresql":
        # Two imports at once would both decide "create"; the second waits for the first.
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext('institutions.registry_import'))")
    report = ImportReport(type=type_)
    importer = _RowImporter(type_, as_of or date.today().replace(day=1), report, actor)
    for line, values in table.rows:
        report.rows.append(importer.import_row(line, values))
    # Each designation is an agreement of its type (SPEC §3); only new ones get one.
    from agreements.services.drafting import agreements_from_designations

    report.agreements_created = agreements_from_designations()
    return report


class _RowImporter:
    def __init__(self, type_: str, as_of: date, report: ImportReport, actor=None):
        self.type = type_
        self.as_of = as_of
        self.report = report
        self.scope = None if actor is None or actor.sees_all_institutions else actor.agency

    def _outside_scope(self, row: dict) -> bool:
        if self.scope is None:
            return False
        if self.type == DesignationType.DEVICES:
            # No agency column: the row belongs to the city agency of its region.
            return not (self.scope.division_code and self.scope.division_code[:4] == row["division_code"][:4]
                        and self.scope.level == "city")
        return row["agency"] != self.scope.name

    # ---- matching ------------------------------------------------------------------------
    def _find(self, row: dict, code: str) -> tuple[Institution | None, Designation | None]:
        designations = Designation.objects.select_related("institution__legal_entity").filter(type=self.type)
        if code:
            inst = Institution.objects.filter(code=code).first()
            if inst:
                return inst, designations.filter(institution=inst).first()
        d = designations.filter(source__uscc=row["uscc"], source__name=row["name"]).first()
        if d:
            return d.institution, d
        inst = Institution.objects.filter(legal_entity__uscc=row["uscc"], name=row["name"]).first()
        if inst:
            return inst, designations.filter(institution=inst).first()
        # Same name in this table, another code in the file: the code changed or was mistyped.
        d = designations.filter(institution__name=row["name"]).first()
        if d:
            return d.institution, d
        return None, None

    # ---- agencies ------------------------------------------------------------------------
    def _agency(self, row: dict):
        if self.type == DesignationType.DEVICES:
            agency, created = agency_for_division(row["division_code"])
        else:
            agency, created = agency_get_or_create(
                name=row["agency"], phone=row["agency_phone"], row_division=row["division_code"]
            )
        if created:
            self.report.agencies_created.append(agency.name)
        return agency

    def _legal_entity(self, row: dict, name: str) -> LegalEntity:
        check = validate_uscc(row["uscc"])
        entity, _ = LegalEntity.objects.get_or_create(
            uscc=row["uscc"], defaults={"name": name, "uscc_valid": check.ok, "uscc_problem": check.reason}
        )
        return entity

    # ---- one row -------------------------------------------------------------------------
    def import_row(self, line: int, values: dict[str, str]) -> RowOutcome:
        row, errors, notes = normalise_row(self.type, values)
        outcome = RowOutcome(line=line, seq_no=row["seq_no"], name=row["name"], status="rejected", notes=notes)
        if errors:
            outcome.notes = errors
            return outcome
        if self._outside_scope(row):
            outcome.notes = [f"不属于{self.scope.name}管辖，未导入（须由该机构的经办机构或自治区经办机构导入）"]
            return outcome
        outcome.flags = _row_flags(row)
        inst, designation = self._find(row, squash(values.get("code")))
        with transaction.atomic():  # a row either lands whole or not at all
            if inst is None:
                inst = self._create(row, values, outcome)
                outcome.status = "created"
            elif designation is None:
                self._add_designation(inst, row, values, outcome)
                outcome.status = "created"
            elif designation.source == row or self._matches_stored(inst, designation, row):
                outcome.status = "unchanged"
            else:
                self._update(inst, designation, row, values, outcome)
                outcome.status = "updated"
            if outcome.flags:
                self._flag(inst, outcome.flags)
        outcome.institution_code = inst.code
        return outcome

    def _matches_stored(self, inst: Institution, designation: Designation, row: dict) -> bool:
        """The row says what the registry already holds (e.g. a file written by export_registry,
        which prints the institution's current values rather than the table it came from)."""
        current = {
            **_institution_values(inst),
            "seq_no": str(designation.seq_no),
            "agency": "" if self.type == DesignationType.DEVICES else designation.agency.name,
            "agency_phone": designation.agency_phone,
        }
        return all(row[k] == current[k] for k in row)

    def _create(self, row, values, outcome) -> Institution:
        agency = self._agency(row)
        inst = Institution.objects.create(
            code=f"JG{Sequence.next_value('institution_code'):06d}",
            name=row["name"],
            legal_entity=self._legal_entity(row, row["name"]),
            agency=agency,
            city_name=row["city_name"],
            division_code=row["division_code"],
            address=row["address"],
            phones=row["phones"],
            grade=row["grade"],
            ownership=row["ownership"],
            original={self.type: _original_cells(self.type, values)},
        )
        self._designation_create(inst, agency, row)
        return inst

    def _designation_create(self, inst, agency, row) -> Designation:
        return Designation.objects.create(
            institution=inst,
            type=self.type,
            agency=agency,
            agency_phone=row["agency_phone"],
            seq_no=int(row["seq_no"]),
            as_of=self.as_of,
            source=row,
        )

    def _add_designation(self, inst, row, values, outcome) -> None:
        """A second table lists an institution already registered: link it, report differences."""
        self._designation_create(inst, self._agency(row), row)
        current = _institution_values(inst)
        for key in INSTITUTION_KEYS:
            if row[key] and row[key] != current[key]:
                outcome.notes.append(
                    f"{FIELD_LABELS[key]}与已登记信息不一致（名单：{_show(row[key])}；登记：{_show(current[key])}），"
                    "未覆盖，如需变更请办理变更备案"
                )
        inst.original = {**inst.original, self.type: _original_cells(self.type, values)}
        inst.save(update_fields=["original", "updated_at"])

    def _update(self, inst, designation, row, values, outcome) -> None:
        before = designation.source
        changed = [k for k in row if row[k] != before.get(k)]
        inst_fields = []
        for key in changed:
            if key == "uscc":
                if not validate_uscc(row["uscc"]).ok and inst.legal_entity.uscc_valid:
                    outcome.flags.append(f"文件中的代码“{row['uscc']}”未通过校验，已保留原代码 {inst.legal_entity.uscc}")
                    continue
                inst.legal_entity = self._legal_entity(row, row["name"])
                inst_fields.append("legal_entity")
            elif key in INSTITUTION_KEYS:
                setattr(inst, key, row[key])
                inst_fields.append(key)
        if inst_fields:
            inst.original = {**inst.original, self.type: _original_cells(self.type, values)}
            inst.save(update_fields=[*inst_fields, "original", "updated_at"])
        if "agency" in changed:
            designation.agency = self._agency(row)
        designation.agency_phone = row["agency_phone"]
        designation.seq_no = int(row["seq_no"])
        designation.as_of = self.as_of
        designation.source = row
        designation.save()
        outcome.notes.append("变更：" + "、".join(FIELD_LABELS.get(k, k) for k in changed))

    def _flag(self, inst: Institution, flags: list[str]) -> None:
        notes = "；".join(flags)
        # Already flagged for these reasons, or already verified by staff for them: leave it.
        if notes not in inst.verification_notes:
            inst.needs_verification = True
            inst.verification_notes = notes
            inst.save(update_fields=["needs_verification", "verification_notes", "updated_at"])


def _institution_values(inst: Institution) -> dict:
    return {
        "name": inst.name,
        "uscc": inst.legal_entity.uscc,
        "city_name": inst.city_name,
        "division_code": inst.division_code,
        "address": inst.address,
        "phones": inst.phones,
        "grade": inst.grade,
        "ownership": inst.ownership,
    }


def _show(value) -> str:
    if isinstance(value, list):
        return "/".join(value)
    return {o.value: o.label for o in Ownership}.get(value, value)
