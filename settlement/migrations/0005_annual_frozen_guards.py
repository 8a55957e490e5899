"""A frozen (approved) year cannot be changed by any path: the same kind of triggers as 0003, for
the annual batch, its rows, and the scores and score components of institutions whose year is
approved."""

import importlib

from django.db import migrations

guards = importlib.import_module("settlement.migrations.0003_frozen_guards")

_SCORE_FROZEN = """EXISTS (SELECT 1 FROM settlement_assessmentscore sc
    JOIN institutions_institution i ON i.id = sc.institution_id
    JOIN settlement_annualbatch b ON b.year = sc.year AND b.agency_id = i.agency_id
    WHERE sc.id = {row}.{column} AND b.status = 'approved')"""

GUARDS = [
    ("settlement_annualbatch", "UPDATE OR DELETE", "OLD.status = 'approved'", "approved year is frozen"),
    ("settlement_annualsettlement", "UPDATE OR DELETE", "OLD.frozen", "frozen annual settlement row"),
    ("settlement_assessmentscore", "UPDATE OR DELETE", _SCORE_FROZEN.format(row="OLD", column="id"), "score of a frozen year"),
    ("settlement_scorecomponent", "UPDATE OR DELETE", _SCORE_FROZEN.format(row="OLD", column="score_id"), "score of a frozen year"),
    ("settlement_scorecomponent", "INSERT", _SCORE_FROZEN.format(row="NEW", column="score_id"), "score of a frozen year"),
]


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cur:
        for guard in GUARDS:
            if vendor == "postgresql":
                cur.execute(guards._pg(*guard)[0])
            elif vendor == "sqlite":
                for create, _ in guards._sqlite(*guard):
                    cur.execute(create)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cur:
        for guard in GUARDS:
            if vendor == "postgresql":
                cur.execute(guards._pg(*guard)[1])
            elif vendor == "sqlite":
                for _, drop in guards._sqlite(*guard):
                    cur.execute(drop)


class Migration(migrations.Migration):
    dependencies = [("settlement", "0004_annual")]
    operations = [migrations.RunPython(forward, backward)]
