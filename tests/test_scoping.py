"""Who sees what (SPEC §1): 属地管理 for agency staff, one institution for its administrator,
and one table (core.permissions.URL_ROLES) that names every URL of the portal."""

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from core.permissions import PUBLIC, SELF_GUARDED_NAMESPACES, URL_ROLES
from institutions.models import Institution
from institutions.selectors import institutions_for
from institutions.services.registry_export import registry_export

YINCHUAN = "银川市第一人民医院"
GUYUAN = "固原市人民医院"


def _detail(client, inst):
    return client.get(reverse("institutions:detail", args=[inst.pk]))


def _listed(client, **query) -> set[str]:
    response = client.get(reverse("institutions:list"), query)
    assert response.status_code == 200
    return {i.name for i in response.context["page"].paginator.object_list}


# ---- agency staff: 属地管理 ------------------------------------------------------------------


def test_staff_yinchuan_sees_yinchuan_but_not_guyuan(client_for, institution):
    c = client_for("staff_yinchuan")
    yc, gy = institution(YINCHUAN), institution(GUYUAN)
    response = _detail(c, yc)
    assert response.status_code == 200 and YINCHUAN in response.content.decode()
    response = _detail(c, gy)
    assert response.status_code == 404
    assert GUYUAN not in response.content.decode()
    names = _listed(c)
    assert YINCHUAN in names and GUYUAN not in names
    # Searching for it by name finds nothing either.
    response = c.get(reverse("institutions:list"), {"q": gy.code})
    assert response.context["page"].paginator.count == 0
    assert "没有符合条件的机构" in response.content.decode()


def test_staff_guyuan_sees_guyuan_but_not_yinchuan(client_for, institution):
    c = client_for("staff_guyuan")
    yc, gy = institution(YINCHUAN), institution(GUYUAN)
    assert _detail(c, gy).status_code == 200
    assert _detail(c, yc).status_code == 404
    names = _listed(c)
    assert GUYUAN in names and YINCHUAN not in names
    assert all(
        i.agency.name == "固原市社会保险事业管理中心"
        or i.designations.filter(agency__name="固原市社会保险事业管理中心").exists()
        for i in Institution.objects.filter(name__in=names)
    )


def test_staff_region_sees_both(client_for, institution):
    c = client_for("staff_region")
    for name in (YINCHUAN, GUYUAN):
        assert _detail(c, institution(name)).status_code == 200
    names = _listed(c)
    assert {YINCHUAN, GUYUAN} <= names
    assert len(names) == Institution.objects.count()


def test_a_missing_id_and_a_foreign_id_get_the_same_answer(client_for, institution):
    c = client_for("staff_yinchuan")
    foreign = _detail(c, institution(GUYUAN))
    missing = c.get(reverse("institutions:detail", args=[10**9]))
    assert foreign.status_code == missing.status_code == 404


def test_staff_yinchuan_cannot_file_or_verify_for_guyuan(client_for, institution):
    c = client_for("staff_yinchuan")
    gy = institution(GUYUAN)
    assert c.get(reverse("institutions:filing_create", args=[gy.pk])).status_code == 404
    assert c.post(reverse("institutions:verify", args=[gy.pk]), {"note": "x"}).status_code == 404


def test_staff_export_is_scoped_to_their_institutions(client_for):
    response = client_for("staff_guyuan").get(reverse("institutions:export"), {"type": "medical", "format": "csv"})
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    assert GUYUAN in text and YINCHUAN not in text


def test_auditor_yinchuan_sees_the_yinchuan_list(client_for, institution, users):
    c = client_for("auditor_yinchuan")
    names = _listed(c)
    assert YINCHUAN in names and GUYUAN not in names
    assert names == set(institutions_for(users["auditor_yinchuan"]).values_list("name", flat=True))
    assert _detail(c, institution(YINCHUAN)).status_code == 200
    assert _detail(c, institution(GUYUAN)).status_code == 404


def test_auditor_is_read_only_on_the_registry(client_for, institution):
    c = client_for("auditor_yinchuan")
    assert c.get(reverse("institutions:import")).status_code == 403
    assert c.post(reverse("institutions:verify", args=[institution(YINCHUAN).pk]), {"note": "x"}).status_code == 403


# ---- institution administrator: one institution -------------------------------------------


def test_hospital_admin_sees_its_own_detail(client_for, institution):
    c = client_for("hospital_admin")
    response = _detail(c, institution(YINCHUAN))
    assert response.status_code == 200
    assert YINCHUAN in response.content.decode()
    mine = c.get(reverse("institutions:mine"))
    assert mine.status_code == 302 and mine["Location"] == reverse("institutions:detail", args=[institution(YINCHUAN).pk])


@pytest.mark.parametrize("name", [GUYUAN, "银川市第二人民医院", "银川市第一人民医院康复医院"])
def test_hospital_admin_gets_404_on_any_other_institution(client_for, institution, name):
    c = client_for("hospital_admin")
    other = institution(name)
    assert _detail(c, other).status_code == 404
    assert c.get(reverse("institutions:filing_create", args=[other.pk])).status_code == 404
    response = c.post(reverse("institutions:filing_create", args=[other.pk]),
                      {"name": "x", "address": "别处", "reason": "试探"})
    assert response.status_code == 404
    assert not other.filings.exists()


def test_hospital_admin_probing_every_id_finds_only_its_own(client_for, institution):
    c = client_for("hospital_admin")
    own = institution(YINCHUAN).pk
    for pk in Institution.objects.values_list("pk", flat=True):
        assert _detail(c, Institution(pk=pk)).status_code == (200 if pk == own else 404)


def test_hospital_admin_cannot_verify_any_institution(client_for, institution):
    """institutions:verify is a staff action: refused by role (403) whatever the id, so the
    answer does not tell whether another institution exists."""
    c = client_for("hospital_admin")
    army = Institution.objects.get(name__startswith="中国人民解放军联勤保障部队第九四二医院")
    answers = {
        c.post(reverse("institutions:verify", args=[pk]), {"note": "自行核实"}).status_code
        for pk in (institution(YINCHUAN).pk, army.pk, 10**9)
    }
    assert answers == {403}
    army.refresh_from_db()
    assert army.needs_verification is True


def test_hospital_admin_registry_export_holds_only_its_own_row(users):
    data = registry_export(type_="medical", fmt="csv", institutions=institutions_for(users["hospital_admin"]))
    lines = data.decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 2
    assert YINCHUAN in lines[1]


def test_hospital_admin_export_page_is_refused(client_for):
    # URL_ROLES gives the export page to staff and auditors only.
    response = client_for("hospital_admin").get(reverse("institutions:export"), {"type": "medical", "format": "csv"})
    assert response.status_code == 403
    assert GUYUAN.encode() not in response.content


def test_hospital_admin_cannot_open_the_registry_list(client_for):
    assert client_for("hospital_admin").get(reverse("institutions:list")).status_code == 403


def test_hospital_guyuan_is_scoped_to_guyuan(client_for, institution):
    c = client_for("hospital_guyuan")
    assert _detail(c, institution(GUYUAN)).status_code == 200
    assert _detail(c, institution(YINCHUAN)).status_code == 404


# ---- the URL table --------------------------------------------------------------------------


def _named_urls():
    """(view name, converters) of every named URL outside the self-guarded namespaces."""
    found = []

    def walk(patterns, namespace, converters):
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.namespace in SELF_GUARDED_NAMESPACES:
                    continue
                ns = namespace
                if p.namespace:
                    ns = f"{namespace}:{p.namespace}" if namespace else p.namespace
                walk(p.url_patterns, ns, converters + list(p.pattern.converters.values()))
            elif isinstance(p, URLPattern):
                if p.name:
                    name = f"{namespace}:{p.name}" if namespace else p.name
                    found.append((name, converters + list(p.pattern.converters.values())))
                else:
                    found.append((None, repr(p)))

    walk(get_resolver().url_patterns, "", [])
    return found


def test_the_walk_sees_every_namespace():
    names = {n for n, _ in _named_urls() if n}
    assert {"home", "login", "institutions:list", "audit:search"} <= names
    assert any(n.startswith("api:") for n in names)
    assert not any(n.startswith(("admin:", "rest_framework:")) for n in names)


def test_every_named_url_is_listed_in_url_roles():
    missing = sorted(n for n, _ in _named_urls() if n and n not in URL_ROLES)
    assert missing == [], f"URLs without an entry in core.permissions.URL_ROLES: {missing}"


def test_every_url_outside_admin_has_a_name():
    unnamed = [desc for n, desc in _named_urls() if n is None]
    assert unnamed == [], f"unnamed URLs cannot be listed in URL_ROLES: {unnamed}"


def test_url_roles_lists_no_url_that_does_not_exist():
    names = {n for n, _ in _named_urls() if n}
    assert sorted(set(URL_ROLES) - names) == []


def _page_urls():
    for name, converters in _named_urls():
        if not name or name.startswith("api:") or URL_ROLES.get(name) == PUBLIC:
            continue
        yield name, reverse(name, args=[_sample(c) for c in converters])


def _sample(converter):
    """A value the converter accepts: a month for <month:…>, otherwise 1."""
    from settlement.converters import MonthConverter

    return "2026-10" if isinstance(converter, MonthConverter) else 1


@pytest.mark.django_db
def test_anonymous_get_of_every_page_redirects_to_login():
    pages = list(_page_urls())
    assert len(pages) >= 20
    c = Client()
    login = reverse("login")
    for name, url in pages:
        response = c.get(url)
        assert response.status_code == 302, name
        assert response["Location"].startswith(f"{login}?next="), name


@pytest.mark.django_db
def test_anonymous_api_calls_are_refused():
    c = Client()
    for name, converters in _named_urls():
        if name and name.startswith("api:") and URL_ROLES.get(name) != PUBLIC:
            response = c.get(reverse(name, args=[1] * len(converters)))
            assert response.status_code in (401, 403), name


@pytest.mark.django_db
def test_the_login_page_is_public():
    assert Client().get(reverse("login")).status_code == 200
