"""The audit trail (SPEC §7): who, when, before, after; append-only in the database; outlives the
object it describes; searchable in the portal, within the viewer's scope."""

from datetime import datetime, timedelta

import pytest
from auditlog.context import set_actor
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from institutions.models import ApplicationMaterial, HandlingAgency, Institution, MaterialKind
from institutions.services.applications import application_add_material, application_submit
from institutions.services.filings import filing_approve, filing_submit

YINCHUAN = "银川市第一人民医院"
NEW_ADDRESS = "银川市兴庆区利群西街8号"


def _entries_for(obj):
    return LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(type(obj)), object_pk=str(obj.pk)
    ).order_by("pk")


def _approved_address_change(institution, users):
    inst = institution(YINCHUAN)
    with set_actor(users["hospital_admin"]):
        filing = filing_submit(institution=inst, changes={"address": NEW_ADDRESS}, reason="门牌调整",
                               actor=users["hospital_admin"])
    with set_actor(users["staff_yinchuan"]):
        filing_approve(filing=filing, actor=users["staff_yinchuan"])
    return inst, filing


def _search(client, **params):
    response = client.get(reverse("audit:search"), params)
    assert response.status_code == 200
    return response, list(response.context["page"].paginator.object_list)


# ---- what is recorded -----------------------------------------------------------------------


def test_an_institution_change_records_actor_before_and_after(institution, users):
    inst, _ = _approved_address_change(institution, users)
    entry = _entries_for(inst).filter(action=LogEntry.Action.UPDATE).last()
    assert entry.actor == users["staff_yinchuan"]
    assert entry.changes_dict["address"] == ["银川市兴庆区利群西街2号", NEW_ADDRESS]
    assert entry.timestamp <= timezone.now()


def test_a_change_through_the_page_records_the_logged_in_user(institution, users, client_for):
    inst = institution(YINCHUAN)
    with set_actor(users["hospital_admin"]):
        filing = filing_submit(institution=inst, changes={"postal_code": "750001"}, reason="补充",
                               actor=users["hospital_admin"])
    response = client_for("staff_yinchuan").post(reverse("institutions:filing_decide", args=[filing.pk]),
                                                 {"decision": "approve", "note": "同意"})
    assert response.status_code == 302
    entry = _entries_for(inst).filter(action=LogEntry.Action.UPDATE).last()
    assert entry.actor == users["staff_yinchuan"]
    assert entry.changes_dict["postal_code"] == ["", "750001"]
    filing_entry = _entries_for(filing).last()
    assert filing_entry.actor == users["staff_yinchuan"]
    assert filing_entry.changes_dict["status"] == ["pending", "approved"]


def test_the_registry_import_is_recorded(registry):
    inst = Institution.objects.get(name=YINCHUAN)
    created = _entries_for(inst).get(action=LogEntry.Action.CREATE)
    assert created.object_repr == YINCHUAN


# ---- append-only ----------------------------------------------------------------------------


def _an_entry(institution, users):
    inst, _ = _approved_address_change(institution, users)
    return _entries_for(inst).filter(action=LogEntry.Action.UPDATE).last()


def test_updating_a_log_entry_is_refused_by_the_database(institution, users):
    entry = _an_entry(institution, users)
    with pytest.raises(DatabaseError) as exc:
        with transaction.atomic():
            LogEntry.objects.filter(pk=entry.pk).update(changes_text="rewritten", actor=None)
    assert "append-only" in str(exc.value)
    with pytest.raises(DatabaseError):
        with transaction.atomic():
            entry.object_repr = "rewritten"
            entry.save()
    entry.refresh_from_db()
    assert entry.object_repr == YINCHUAN and entry.actor == users["staff_yinchuan"]


def test_deleting_a_log_entry_is_refused_by_the_database(institution, users):
    entry = _an_entry(institution, users)
    total = LogEntry.objects.count()
    with pytest.raises(DatabaseError):
        with transaction.atomic():
            entry.delete()
    with pytest.raises(DatabaseError):
        with transaction.atomic():
            LogEntry.objects.all().delete()
    assert LogEntry.objects.count() == total
    assert LogEntry.objects.filter(pk=entry.pk).exists()


def test_raw_sql_cannot_rewrite_the_trail_either(institution, users):
    entry = _an_entry(institution, users)
    for sql in ("UPDATE auditlog_logentry SET object_repr = 'x' WHERE id = %s",
                "DELETE FROM auditlog_logentry WHERE id = %s"):
        with pytest.raises(DatabaseError):
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute(sql, [entry.pk])
    assert LogEntry.objects.get(pk=entry.pk).object_repr == YINCHUAN


def test_new_entries_can_still_be_appended_after_a_refusal(institution, users):
    entry = _an_entry(institution, users)
    with pytest.raises(DatabaseError):
        with transaction.atomic():
            entry.delete()
    count = LogEntry.objects.count()
    with set_actor(users["staff_region"]):
        HandlingAgency.objects.create(name="追加测试经办机构")
    assert LogEntry.objects.count() == count + 1


# ---- the trail outlives the object ----------------------------------------------------------


def test_entries_of_a_deleted_agency_remain_and_are_searchable(users, client_for):
    with set_actor(users["staff_region"]):
        agency = HandlingAgency.objects.create(name="临时测试经办机构", phone="0951-0000000")
        agency.phone = "0951-1111111"
        agency.save()
        pk = agency.pk
        agency.delete()
    assert not HandlingAgency.objects.filter(pk=pk).exists()
    entries = list(LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(HandlingAgency),
                                           object_pk=str(pk)).order_by("pk"))
    assert [e.action for e in entries] == [LogEntry.Action.CREATE, LogEntry.Action.UPDATE, LogEntry.Action.DELETE]
    assert all(e.actor == users["staff_region"] for e in entries)
    assert entries[1].changes_dict["phone"] == ["0951-0000000", "0951-1111111"]

    response, listed = _search(client_for("staff_region"), model="institutions.handlingagency", object_pk=str(pk))
    assert [e.pk for e in listed] == [e.pk for e in reversed(entries)]
    text = response.content.decode()
    assert "临时测试经办机构" in text and "0951-1111111" in text


def test_entries_of_a_deleted_material_remain(users, client_for, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    staff = users["staff_yinchuan"]
    with set_actor(staff):
        app = application_submit(actor=staff, data={
            "type": "devices", "applicant_name": "宁夏审计测试辅具有限公司", "uscc": "91640100694347569Q",
            "address": "银川市", "phone": "0951-1", "contact_person": "赵", "division_code": "640104",
            "agency": HandlingAgency.objects.get(name="银川市社会保险事业管理中心"),
        })
        material = application_add_material(
            application=app, kind=MaterialKind.LICENCE, actor=staff,
            upload=SimpleUploadedFile("licence.pdf", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf"),
        )
        pk = material.pk
        material.delete()
    assert not ApplicationMaterial.objects.filter(pk=pk).exists()
    entries = LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(ApplicationMaterial),
                                      object_pk=str(pk))
    assert sorted(entries.values_list("action", flat=True)) == [LogEntry.Action.CREATE, LogEntry.Action.DELETE]
    # Staff of the agency handling the application still find them.
    _, listed = _search(client_for("staff_region"), model="institutions.applicationmaterial", object_pk=str(pk))
    assert len(listed) == 2


# ---- search ---------------------------------------------------------------------------------


def test_search_filters_by_user(institution, users, client_for):
    inst, _ = _approved_address_change(institution, users)
    c = client_for("staff_yinchuan")
    _, listed = _search(c, user="staff_yinchuan")
    assert listed and all(e.actor == users["staff_yinchuan"] for e in listed)
    assert any(e.object_pk == str(inst.pk) and e.action == LogEntry.Action.UPDATE for e in listed)
    _, listed = _search(c, user="hospital_admin")
    assert listed and all(e.actor == users["hospital_admin"] for e in listed)
    # By full name too.
    _, by_name = _search(c, user="银川经办员")
    assert {e.pk for e in by_name} == {e.pk for e in _search(c, user="staff_yinchuan")[1]}


def test_search_filters_by_date(institution, users, client_for):
    inst = institution(YINCHUAN)
    ct = ContentType.objects.get_for_model(Institution)
    old = LogEntry.objects.create(
        content_type=ct, object_pk=str(inst.pk), object_id=inst.pk, object_repr=inst.name,
        action=LogEntry.Action.UPDATE, changes={"grade": ["三级乙等", "三级甲等"]}, actor=users["staff_yinchuan"],
        timestamp=timezone.make_aware(datetime(2025, 6, 15, 10, 0)),
    )
    today = timezone.localdate()
    c = client_for("staff_yinchuan")

    _, listed = _search(c, date_from="2025-06-15", date_to="2025-06-15")
    assert [e.pk for e in listed] == [old.pk]
    _, listed = _search(c, date_from="2025-06-16", date_to="2025-06-30")
    assert listed == []
    _, listed = _search(c, date_from=today.isoformat())
    assert old.pk not in {e.pk for e in listed} and listed
    _, listed = _search(c, date_to=(today - timedelta(days=1)).isoformat())
    assert old.pk in {e.pk for e in listed}
    # Day boundaries are local (Asia/Shanghai): 23:30 on 15 June counts as 15 June.
    late = LogEntry.objects.create(
        content_type=ct, object_pk=str(inst.pk), object_id=inst.pk, object_repr=inst.name,
        action=LogEntry.Action.UPDATE, changes={"grade": ["三级甲等", "三级甲等"]}, actor=users["staff_yinchuan"],
        timestamp=timezone.make_aware(datetime(2025, 6, 15, 23, 30)),
    )
    _, listed = _search(c, date_from="2025-06-15", date_to="2025-06-15")
    assert {e.pk for e in listed} == {old.pk, late.pk}


def test_a_reversed_date_range_is_refused_with_a_message(client_for, users):
    response, listed = _search(client_for("staff_yinchuan"), date_from="2026-03-02", date_to="2026-03-01")
    assert listed == []
    assert "起始日期不能晚于截止日期" in response.content.decode()


def test_staff_guyuan_does_not_see_entries_about_yinchuan(institution, users, client_for):
    inst, filing = _approved_address_change(institution, users)
    ct = ContentType.objects.get_for_model(Institution)

    _, listed = _search(client_for("staff_guyuan"))
    assert listed  # Guyuan's own registry entries
    assert not any(e.content_type_id == ct.pk and e.object_pk == str(inst.pk) for e in listed)
    assert not any(YINCHUAN == e.object_repr for e in listed)
    response, listed = _search(client_for("staff_guyuan"), model="institutions.institution", object_pk=str(inst.pk))
    assert listed == []
    assert NEW_ADDRESS not in response.content.decode()
    _, listed = _search(client_for("staff_guyuan"), q=NEW_ADDRESS)
    assert listed == []
    gy = institution("固原市人民医院")
    _, listed = _search(client_for("staff_guyuan"), model="institutions.institution", object_pk=str(gy.pk))
    assert listed

    _, listed = _search(client_for("staff_yinchuan"), model="institutions.institution", object_pk=str(inst.pk))
    assert any(e.changes_dict.get("address") == ["银川市兴庆区利群西街2号", NEW_ADDRESS] for e in listed)


def test_hospital_admin_gets_403_on_the_audit_page(client_for):
    response = client_for("hospital_admin").get(reverse("audit:search"))
    assert response.status_code == 403


def test_auditor_can_read_the_audit_page(client_for, institution, users):
    inst, _ = _approved_address_change(institution, users)
    _, listed = _search(client_for("auditor_yinchuan"), model="institutions.institution", object_pk=str(inst.pk))
    assert any(e.action == LogEntry.Action.UPDATE for e in listed)


def test_the_institution_page_shows_its_history(institution, users, client_for):
    inst, _ = _approved_address_change(institution, users)
    text = client_for("staff_yinchuan").get(reverse("institutions:detail", args=[inst.pk])).content.decode()
    assert NEW_ADDRESS in text and "银川市兴庆区利群西街2号" in text
