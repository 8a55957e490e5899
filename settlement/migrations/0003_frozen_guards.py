"""A frozen month cannot be changed by any path (SPEC §4): the services refuse it with a message,
and these triggers refuse it in the database itself, whatever issues the write (ORM, admin, raw SQL).

Frozen means: an approved MonthlyBatch; its MonthlySettlement rows (frozen = true) and their
deduction offsets; the lines decided before the approval (or carried into a frozen row); the
corrections and hold releases already paid; the amount of a deduction already partly offset.
"""

from django.db import migrations

# (table, operations, condition on OLD/NEW, message)
GUARDS = [
    ("settlement_monthlybatch", "UPDATE OR DELETE", "OLD.status = 'approved'", "approved month is frozen"),
    ("settlement_monthlysettlement", "UPDATE OR DELETE", "OLD.frozen", "frozen settlement row"),
    (
        "settlement_deductionoffset", "UPDATE OR DELETE",
        "EXISTS (SELECT 1 FROM settlement_monthlysettlement s WHERE s.id = OLD.settlement_id AND s.frozen)",
        "offset of a frozen settlement",
    ),
    (
        "settlement_deductionoffset", "INSERT",
        "EXISTS (SELECT 1 FROM settlement_monthlysettlement s WHERE s.id = NEW.settlement_id AND s.frozen)",
        "offset into a frozen settlement",
    ),
    (
        "settlement_declarationline", "UPDATE OR DELETE",
        """((OLD.status IN ('approved', 'reduced', 'refused') AND NOT OLD.carried) OR OLD.carried_into_id IS NOT NULL)
           AND EXISTS (SELECT 1 FROM settlement_declaration d
                       JOIN institutions_institution i ON i.id = d.institution_id
                       JOIN settlement_monthlybatch b ON b.period = d.period AND b.agency_id = i.agency_id
                       WHERE d.id = OLD.declaration_id AND b.status = 'approved')""",
        "line paid in a frozen month",
    ),
    ("settlement_settlementadjustment", "UPDATE OR DELETE", "OLD.applied_in_id IS NOT NULL", "correction already paid"),
    ("settlement_holdrelease", "UPDATE OR DELETE", "true", "hold releases are append-only"),
    (
        "settlement_deduction", "DELETE",
        "EXISTS (SELECT 1 FROM settlement_deductionoffset o JOIN settlement_monthlysettlement s ON s.id = o.settlement_id "
        "WHERE o.deduction_id = OLD.id AND s.frozen)",
        "deduction already offset",
    ),
    (
        "settlement_deduction", "UPDATE",
        "(NEW.amount <> OLD.amount OR NEW.institution_id <> OLD.institution_id) AND EXISTS (SELECT 1 FROM "
        "settlement_deductionoffset o JOIN settlement_monthlysettlement s ON s.id = o.settlement_id "
        "WHERE o.deduction_id = OLD.id AND s.frozen)",
        "deduction already offset",
    ),
]


def _name(table: str, ops: str) -> str:
    return f"{table}_frozen_{ops.split()[0].lower()}"


def _pg(table, ops, condition, message):
    name = _name(table, ops)
    row = "OLD" if ops != "INSERT" else "NEW"
    returns = "RETURN NEW" if ops == "INSERT" else "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW"
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
BEGIN
    IF {condition} THEN
        RAISE EXCEPTION 'frozen: % refused (%)', TG_OP, '{message}' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    {returns};
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS {name} ON {table};
CREATE TRIGGER {name} BEFORE {ops} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}();
""", f"DROP TRIGGER IF EXISTS {name} ON {table}; DROP FUNCTION IF EXISTS {name}();", row


def _sqlite(table, ops, condition, message):
    out = []
    for op in ops.split(" OR "):
        name = f"{_name(table, ops)}_{op.lower()}"
        cond = condition.replace("NOT OLD.carried", "OLD.carried = 0").replace("OLD.frozen", "OLD.frozen = 1")
        cond = cond.replace("AND s.frozen", "AND s.frozen = 1")
        if cond == "true":
            cond = "1"
        out.append((
            f"CREATE TRIGGER IF NOT EXISTS {name} BEFORE {op} ON {table} WHEN {cond} "
            f"BEGIN SELECT RAISE(ABORT, 'frozen: {op} refused ({message})'); END;",
            f"DROP TRIGGER IF EXISTS {name};",
        ))
    return out


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cur:
        for guard in GUARDS:
            if vendor == "postgresql":
                cur.execute(_pg(*guard)[0])
            elif vendor == "sqlite":
                for create, _ in _sqlite(*guard):
                    cur.execute(create)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cur:
        for guard in GUARDS:
            if vendor == "postgresql":
                cur.execute(_pg(*guard)[1])
            elif vendor == "sqlite":
                for _, drop in _sqlite(*guard):
                    cur.execute(drop)


class Migration(migrations.Migration):
    dependencies = [("settlement", "0002_policy_and_reasons"), ("institutions", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
