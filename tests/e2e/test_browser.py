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
        ("settlement:review", "申报审核", "每条明细须给出审核结果和理由"),
        ("settlement:month_list", "月度结算", "打开该月结算"),
        ("settlement:receivables", "应收与暂缓", "暂缓支付"),
        ("settlement:annual_list", "年度结算", "打开该年度"),
        ("violations:list", "违规案件", "立案"),
    ],
    "auditor_yinchuan": [
        ("home", "首页", "管辖协议机构"),
        ("institutions:list", "协议机构名单", "银川市第一人民医院"),
        ("audit:search", "审计日志", "审计日志"),
        ("violations:list", "违规案件", "待我决定"),
        ("violations:statistics", "违规统计", "按处理措施"),
    ],
    "hospital_admin": [
        ("home", "首页", "银川市第一人民医院"),
        ("institutions:mine", "本机构信息", "定点资格"),
        ("institutions:filing_list", "变更备案", "申报变更"),
        ("settlement:declaration_list", "月度申报", "上传申报文件"),
        ("settlement:statement_list", "结算单", "结算单"),
        ("settlement:application_list", "年度结算申请", "年度结算申请"),
        ("violations:list", "违规案件", "违规"),
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


def _page(browser, base, username):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    _login(page, base, username)
    return context, page


def test_a_month_from_declaration_to_frozen_statement(transactional_db, users, live_server, browser, tmp_path):
    """On 23 November 2026 the hospital is refused October (past the 10th, the message names the
    deadline); the clerk declares the file for it (逾期), bulk-approves, runs the month with the
    button and approves it; the hospital then reads its frozen statement."""
    import time_machine
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from settlement.models import BatchStatus, MonthlyBatch, MonthlySettlement
    from tests.settlement_helpers import csv_bytes, row

    hospital = users["hospital_admin"].institution
    data = tmp_path / "十月申报.csv"
    data.write_bytes(csv_bytes([
        row(hospital.code, card="640102199001010001", total="333.33"),
        row(hospital.code, card="640102199001010002", category="住院", visit="2026-10-01", discharge="2026-10-09",
            total="9000.00"),
        row(hospital.code, card="640102199001010003", total="-1"),
    ]))
    with time_machine.travel(datetime(2026, 11, 23, 10, tzinfo=ZoneInfo("Asia/Shanghai"))):
        context, page = _page(browser, live_server.url, "hospital_admin")
        page.goto(f"{live_server.url}/settlement/declarations/upload/")
        page.set_input_files("#id_file", str(data))
        page.click("form.form-card button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert "2026年11月10日" in page.inner_text(".msg-error")
        page.screenshot(path=str(SHOTS / "hospital_admin__declaration_refused_after_deadline.png"), full_page=True)
        context.close()

        context, page = _page(browser, live_server.url, "staff_yinchuan")
        page.goto(f"{live_server.url}/settlement/declarations/upload/")
        page.select_option("#id_institution", str(hospital.pk))
        page.set_input_files("#id_file", str(data))
        page.click("form.form-card button[type=submit]")
        page.wait_for_load_state("networkidle")
        rejected = page.inner_text("section.report tr.rejected")
        assert rejected.startswith("4") and "为负数" in rejected  # the bad row, by its number and reason
        assert "逾期" in page.inner_text(".messages")
        page.screenshot(path=str(SHOTS / "staff_yinchuan__declaration_report.png"), full_page=True)

        page.goto(f"{live_server.url}/settlement/review/?month=2026-10")
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("text=批量通过当前筛选")
        page.wait_for_load_state("networkidle")
        assert "批量审核通过 2 条" in page.inner_text(".messages")

        page.goto(f"{live_server.url}/settlement/months/2026-10/")
        page.click("text=运行月度结算")
        page.wait_for_load_state("networkidle")
        page.wait_for_selector("#run-status.status-succeeded")
        page.screenshot(path=str(SHOTS / "staff_yinchuan__month_run.png"), full_page=True)
        page.goto(f"{live_server.url}/settlement/months/2026-10/")
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("text=审批拨付")
        page.wait_for_load_state("networkidle")
        assert "已审批拨付并冻结" in page.inner_text(".messages")
        context.close()

        batch = MonthlyBatch.objects.get(agency=hospital.agency, period="2026-10-01")
        assert batch.status == BatchStatus.APPROVED
        row_ = MonthlySettlement.objects.get(institution=hospital, period="2026-10-01")
        assert (str(row_.approved_amount), str(row_.deposit), str(row_.payable)) == ("9333.33", "933.33", "8400.00")

        context, page = _page(browser, live_server.url, "hospital_admin")
        page.goto(f"{live_server.url}/settlement/statements/{row_.pk}/")
        main = page.inner_text("main")
        assert "已审批拨付" in main and "¥8,400.00" in main
        page.screenshot(path=str(SHOTS / "hospital_admin__statement.png"), full_page=True)
        context.close()
