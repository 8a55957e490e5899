"""Logging in: a Chinese login page, lockout after five wrong passwords (django-axes, by user
name), short idle sessions, and a Chinese start page for every role."""

import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.conftest import TEST_PASSWORD

CJK = re.compile(r"[\u4e00-\u9fff]")


def _login(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def _logged_in_as(client):
    from django.contrib.auth import SESSION_KEY

    return client.session.get(SESSION_KEY)


def _is_chinese(html: str) -> bool:
    text = re.sub(r"<[^>]+>", " ", html)
    return len(CJK.findall(text)) >= 10 and 'lang="zh-hans"' in html


def test_the_login_page_is_in_chinese(db):
    response = Client().get(reverse("login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "登录" in html and "用户名" in html and "密码" in html
    assert _is_chinese(html)


def test_the_right_password_logs_in_and_goes_home(users):
    c = Client()
    response = _login(c, "staff_yinchuan", TEST_PASSWORD)
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert str(_logged_in_as(c)) == str(users["staff_yinchuan"].pk)


def test_a_wrong_password_shows_a_chinese_error(users):
    c = Client()
    response = _login(c, "staff_yinchuan", "wrong-password")
    assert response.status_code == 200
    assert "用户名或密码不正确" in response.content.decode()
    assert _logged_in_as(c) is None


def test_five_wrong_passwords_lock_the_user_name(users):
    from axes.models import AccessAttempt

    c = Client()
    for _ in range(4):
        assert _login(c, "staff_yinchuan", "wrong-password").status_code == 200
    fifth = _login(c, "staff_yinchuan", "wrong-password")
    assert fifth.status_code in (403, 429)
    assert AccessAttempt.objects.get(username="staff_yinchuan").failures_since_start == 5

    sixth = _login(Client(), "staff_yinchuan", TEST_PASSWORD)  # the right password, a fresh browser
    assert sixth.status_code in (403, 429)
    html = sixth.content.decode()
    assert "锁定" in html
    assert _is_chinese(html)
    assert _logged_in_as(c) is None


def test_the_lock_is_by_user_name_not_by_address(users):
    c = Client()
    for _ in range(5):
        _login(c, "staff_yinchuan", "wrong-password")
    # A colleague behind the same address still logs in.
    other = Client()
    assert _login(other, "staff_guyuan", TEST_PASSWORD).status_code == 302
    assert str(_logged_in_as(other)) == str(users["staff_guyuan"].pk)
    assert _login(Client(), "staff_yinchuan", TEST_PASSWORD).status_code in (403, 429)


def test_four_failures_then_success_resets_the_count(users):
    c = Client()
    for _ in range(4):
        _login(c, "hospital_admin", "wrong-password")
    assert _login(c, "hospital_admin", TEST_PASSWORD).status_code == 302
    c2 = Client()
    for _ in range(4):
        _login(c2, "hospital_admin", "wrong-password")
    assert _login(c2, "hospital_admin", TEST_PASSWORD).status_code == 302


def test_lockout_settings():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_LOCKOUT_PARAMETERS == ["username"]
    assert settings.AXES_COOLOFF_TIME.total_seconds() >= 15 * 60


def test_sessions_are_short_and_renewed_on_every_request():
    assert settings.SESSION_COOKIE_AGE <= 3600
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert settings.SESSION_COOKIE_HTTPONLY is True


def test_a_logged_in_session_expires_within_an_hour(users):
    c = Client()
    _login(c, "staff_yinchuan", TEST_PASSWORD)
    assert c.session.get_expiry_age() <= 3600


def test_logout_ends_the_session(users):
    c = Client()
    _login(c, "staff_yinchuan", TEST_PASSWORD)
    response = c.post(reverse("logout"))
    assert response.status_code == 302
    assert _logged_in_as(c) is None
    assert c.get(reverse("home")).status_code == 302


@pytest.mark.parametrize("username", ["admin", "staff_yinchuan", "auditor_yinchuan", "hospital_admin"])
def test_home_page_for_each_role_is_chinese(users, username):
    c = Client()
    assert _login(c, username, TEST_PASSWORD).status_code == 302
    response = c.get(reverse("home"))
    assert response.status_code == 200
    html = response.content.decode()
    assert _is_chinese(html)
    assert "工伤保险协议管理与结算平台" in html
    assert "退出" in html
    assert str(users[username]) in html


def test_hospital_admin_home_names_its_institution(users):
    c = Client()
    _login(c, "hospital_admin", TEST_PASSWORD)
    html = c.get(reverse("home")).content.decode()
    assert "银川市第一人民医院" in html
    assert "固原市人民医院" not in html
