"""The portal speaks Simplified Chinese unless the user picks English with the switcher."""

import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_login_page_is_chinese_even_when_the_browser_prefers_english(client):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert "用户登录" in response.content.decode()
    assert response["Content-Language"] == "zh-hans"


@pytest.mark.django_db
def test_switching_to_english_translates_the_page_and_back(client_for):
    client = client_for("staff_yinchuan")
    client.post(reverse("set_language"), {"language": "en", "next": "/institutions/"})
    english = client.get(reverse("institutions:list")).content.decode()
    assert "Contracted institution" in english
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/institutions/"})
    chinese = client.get(reverse("institutions:list")).content.decode()
    assert "协议机构名单" in chinese


@pytest.mark.django_db
def test_filing_shows_ownership_by_its_label(users, institution):
    from institutions.services.filings import filing_submit

    inst = institution("银川市第一人民医院")
    filing = filing_submit(institution=inst, changes={"ownership": "私立"}, reason="改制", actor=users["hospital_admin"])
    assert ("医院属性（所有制形式）", "公立", "私立") in [tuple(map(str, r)) for r in filing.change_rows()]
