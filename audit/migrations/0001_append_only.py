"""Make the audit trail append-only in the database itself (SPEC §7).

django-auditlog writes one LogEntry per change. These triggers refuse any UPDATE or DELETE of a
LogEntry, whatever issues it (ORM, admin, raw SQL), so the trail cannot be rewritten.
TRUNCATE is left to the table owner (an operator's act, and how the test suite resets a database). Entries
hold the object's id as text, not a foreign key, so they outlive the object they describe.
Consequence: users are deactivated, never deleted (their entries reference them).
"""

from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit trail is append-only: % on auditlog_logentry refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS auditlog_logentry_append_only ON auditlog_logentry;
CREATE TRIGGER auditlog_logentry_append_only
    BEFORE UPDATE OR DELETE ON auditlog_logentry
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS auditlog_logentry_append_only ON auditlog_logentry;
DROP FUNCTION IF EXISTS audit_refuse_change();
"""
SQLITE_FORWARD = [
    """CREATE TRIGGER IF NOT EXISTS auditlog_logentry_no_update BEFORE UPDATE ON auditlog_logentry
       BEGIN SELECT RAISE(ABORT, 'audit trail is append-only: UPDATE refused'); END;""",
    """CREATE TRIGGER IF NOT EXISTS auditlog_logentry_no_delete BEFORE DELETE ON auditlog_logentry
       BEGIN SELECT RAISE(ABORT, 'audit trail is append-only: DELETE refused'); END;""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS auditlog_logentry_no_update;",
    "DROP TRIGGER IF EXISTS auditlog_logentry_no_delete;",
]


def forward(apps, schema_editor):
    with schema_editor.connection.cursor() as cur:
        if schema_editor.connection.vendor == "postgresql":
            cur.execute(PG_FORWARD)
        elif schema_editor.connection.vendor == "sqlite":
            for sql in SQLITE_FORWARD:
                cur.execute(sql)


def backward(apps, schema_editor):
    with schema_editor.connection.cursor() as cur:
        if schema_editor.connection.vendor == "postgresql":
            cur.execute(PG_BACKWARD)
        elif schema_editor.connection.vendor == "sqlite":
            for sql in SQLITE_BACKWARD:
                cur.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("auditlog", "__latest__")]
    operations = [migrations.RunPython(forward, backward)]
