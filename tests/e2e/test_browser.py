"""Each role logs in through the real login page in headless Chromium and walks its main pages.

Screenshots land in artifacts/screenshots/ (look at them after a change to a page).
Chromium comes from Debian (/usr/bin/chromium); Playwright never downloads a browser here.
"""

import os
import re
from pathlib import Path

import pytest

from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
# The Playwright sync API runs an event loop in this thread; the ORM calls made by fixtures here
# are plain synchronous test set-up, so Django's async guard is lifted for this module only.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Role -> pages to walk: (path name, args, text the page must show).
WALKS = {
    "staff_yinchuan": [
        ("home", "首页", "待审核的变更备案"),
        ("institutions:list", "协议机构名单", "银川市第一人民医院"),
        ("institutions:import", "名单导入", "导入协议机构名单"),
        ("institutions:filing_list", "变更备案", "变更备案"),
        ("audit:search", "审计日志", "审计日志"),
    ],
    "auditor_yinchuan": [
        ("home", "首页", "管辖协议机构"),
        ("institutions:list", "协议机构名单", "银川市第一人民医院"),
        ("audit:search", "审计日志", "审计日志"),
    ],
    "hospital_admin": [
        ("home", "首页", "银川市第一人民医院"),
        ("institutions:mine", "本机构信息", "定点资格"),
        ("institutions:filing_list", "变更备案", "申报变更"),
    ],
    "admin": [
        ("home", "首页", "管辖协议机构"),
        ("institutions:list", "协议机构名单", "共 84 家机构"),
        ("institutions:agency_list", "经办机构", "固原市社会保险事业管理中心"),
    ],
}


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--no-first-run", "--disable-sync"],
        )
        yield b
        b.close()


def _login(page, base, username):
    page.goto(f"{base}/accounts/login/")
    assert "用户登录" in page.content()
    page.fill("#id_username", username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("username", list(WALKS))
def test_role_logs_in_and_walks_main_pages(transactional_db, users, live_server, browser, username):
    from django.urls import reverse

    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _login(page, live_server.url, username)
    assert page.url.rstrip("/") == live_server.url, f"login failed for {username}: {page.url}"
    for name, nav_label, must_show in WALKS[username]:
        response = page.goto(live_server.url + reverse(name))
        assert response.status == 200, (name, response.status)
        text = page.inner_text("main")
        assert must_show in text, (name, must_show, re.findall(r"共.{0,12}", text))
        assert re.search(r"[\u4e00-\u9fff]", page.inner_text("h1")), f"{name}: heading is not Chinese"
        assert page.locator("nav.sidenav").get_by_text(nav_label, exact=True).count() >= 1, (name, nav_label)
        page.screenshot(path=str(SHOTS / f"{username}__{name.replace(':', '_')}.png"), full_page=True)
    assert not errors, errors
    context.close()


def test_staff_filters_the_registry_and_opens_a_flagged_institution(transactional_db, users, live_server, browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    _login(page, live_server.url, "staff_region")
    page.goto(f"{live_server.url}/institutions/?needs_verification=1")
    rows = page.locator("table.grid tbody tr")
    assert rows.count() == 2  # medical 序号 8 and rehabilitation 序号 6
    page.get_by_role("link", name=re.compile("工人疗养院")).click()
    page.wait_for_load_state("networkidle")
    assert "校验位错误" in page.content()
    page.screenshot(path=str(SHOTS / "staff_region__flagged_detail.png"), full_page=True)
    context.close()


def test_import_page_refuses_a_gbk_file_with_a_message_and_keeps_the_form(transactional_db, users, live_server, browser, tmp_path):
    from institutions.models import Institution

    before = Institution.objects.count()
    gbk = tmp_path / "名单_gbk.csv"
    gbk.write_bytes("序号,地市名称,行政区划代码,协议机构名称,统一社会信用代码,联系电话,地址\n1,宁夏银川市,640105,某公司,91640100694347569Q,0951-1,银川\n".encode("gbk"))
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    _login(page, live_server.url, "staff_yinchuan")
    page.goto(f"{live_server.url}/institutions/import/")
    page.select_option("#id_type", "devices")
    page.set_input_files("#id_file", str(gbk))
    page.click("form.form-card button[type=submit]")
    page.wait_for_load_state("networkidle")
    message = page.inner_text(".msg-error")
    assert "GBK" in message and "UTF-8" in message
    assert page.locator("#id_type").input_value() == "devices"  # the form keeps what was chosen
    page.screenshot(path=str(SHOTS / "staff_yinchuan__import_gbk_refused.png"), full_page=True)
    assert Institution.objects.count() == before
    context.close()


def test_hospital_files_a_change_and_another_clerk_approves_it(transactional_db, users, live_server, browser):
    from institutions.models import ChangeFiling, Institution

    hospital = Institution.objects.get(name="银川市第一人民医院")
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    _login(page, live_server.url, "hospital_admin")
    page.goto(f"{live_server.url}/institutions/filings/new/{hospital.pk}/")
    page.fill("#id_address", "银川市兴庆区利群西街2号（新院区）")
    page.fill("#id_reason", "院区搬迁")
    page.click("form.form-card button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "待审核" in page.inner_text("h1")
    page.screenshot(path=str(SHOTS / "hospital_admin__filing_submitted.png"), full_page=True)
    filing = ChangeFiling.objects.get(institution=hospital)
    context.close()

    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    _login(page, live_server.url, "staff_yinchuan")
    page.goto(f"{live_server.url}/institutions/filings/{filing.pk}/")
    page.fill("#id_note", "已核对")
    page.click("button[value=approve]")
    page.wait_for_load_state("networkidle")
    assert "已同意备案" in page.inner_text(".messages")
    page.screenshot(path=str(SHOTS / "staff_yinchuan__filing_approved.png"), full_page=True)
    hospital.refresh_from_db()
    assert hospital.address == "银川市兴庆区利群西街2号（新院区）"
    page.goto(f"{live_server.url}/institutions/{hospital.pk}/")
    assert "新院区" in page.inner_text("section.card:last-of-type")  # the history shows the change
    page.screenshot(path=str(SHOTS / "staff_yinchuan__detail_after_filing.png"), full_page=True)
    context.close()


def test_staff_opens_an_agreement_and_sees_its_timeline(transactional_db, users, live_server, browser):
    from agreements.models import Agreement

    agreement = Agreement.objects.get(institution__name="银川市第一人民医院", type="medical")
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    _login(page, live_server.url, "staff_yinchuan")
    page.goto(f"{live_server.url}/agreements/")
    page.get_by_role("link", name=agreement.number).click()
    page.wait_for_load_state("networkidle")
    assert agreement.number in page.inner_text("h1")
    assert page.get_by_role("heading", name="时间线").count() == 1
    assert "期限待定（名单未载明）" in page.inner_text("main")
    assert page.locator("form.action-suspend button[type=submit]").is_enabled()
    page.screenshot(path=str(SHOTS / "staff_yinchuan__agreement_detail.png"), full_page=True)
    context.close()
