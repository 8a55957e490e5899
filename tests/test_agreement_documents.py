"""The agreement templates (attachments 1-3 as JSON) and the agreement PDF rendered from them."""

import datetime
import importlib.util
import io
import json
import re
from pathlib import Path

import pytest
from django.template.loader import render_to_string
from pypdf import PdfReader

from agreements.documents import TERM_RE, agreement_context, load_template, render_agreement_pdf

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT.parent / "shared" / "seeds" / "000_6c7349c0953d4533.txt"

# type: (articles, highest number, numbers absent from the published text, term article)
PUBLISHED = {
    "medical": (46, 46, set(), "第四十二条"),
    "rehabilitation": (34, 35, {34}, "第三十条"),  # the 2026 template has no 第三十四条
    "devices": (38, 38, set(), "第三十八条"),
}


def _tool():
    spec = importlib.util.spec_from_file_location("extract_agreement_templates", ROOT / "tools" / "extract_agreement_templates.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = _tool()


def _articles(template):
    return [a for chapter in template["chapters"] for a in chapter["articles"]]


def _text(pdf: bytes) -> tuple[str, int]:
    reader = PdfReader(io.BytesIO(pdf))
    text = "".join(page.extract_text() for page in reader.pages)
    return re.sub(r"\s+", "", text), len(reader.pages)


PARTY_A = {
    "name": "宁夏回族自治区社会保险事业管理局",
    "representative": "张三",
    "address": "银川市金凤区北京中路166号",
    "postal_code": "750002",
    "phone": "0951-1234567",
}
PARTY_B = {"name": "银川市第一人民医院", "representative": "李四", "address": "银川市兴庆区利民街2号", "postal_code": "750001", "phone": ""}


def _context(**overrides):
    context = {
        "number": "NX-2026-0001",
        "party_a": PARTY_A,
        "party_b": PARTY_B,
        "valid_from": datetime.date(2026, 4, 1),
        "valid_to": datetime.date(2029, 3, 31),
        "signed_on": datetime.date(2026, 3, 28),
        "leader": "王五",
        "managers": ["赵六", "钱七"],
        "status_label": "生效",
    }
    context.update(overrides)
    return context


@pytest.fixture(scope="module")
def rendered():
    """One PDF per type with the sample parties and a full term, as extracted text and page count."""
    return {t: _text(render_agreement_pdf(template=load_template(t), context=_context())) for t in PUBLISHED}


@pytest.mark.parametrize("type_", PUBLISHED)
def test_template_numbers_its_articles_as_published(type_):
    count, highest, absent, term = PUBLISHED[type_]
    template = load_template(type_, "2026版")
    assert template["type"] == type_ and template["version"] == "2026版"
    assert template["region"] == "宁夏回族自治区" and template["issuer"] == "宁夏回族自治区社会保险事业管理局制订"
    articles = _articles(template)
    assert len(articles) == template["article_count"] == count
    numbers = [tool.cn_to_int(a["number"][1:-1]) for a in articles]
    assert numbers == [n for n in range(1, highest + 1) if n not in absent]
    assert all(a["paragraphs"] and all(p == p.strip() and p for p in a["paragraphs"]) for a in articles)
    assert template["term_article"] == term
    term_article = next(a for a in articles if a["number"] == term)
    assert any(TERM_RE.search(p) for p in term_article["paragraphs"])
    assert template["signature"] and all(len(row) == 2 for row in template["signature_rows"])


def test_chinese_numerals():
    assert [tool.cn_to_int(s) for s in ("一", "十", "十二", "二十", "三十五", "四十六", "一百零三")] == [1, 10, 12, 20, 35, 46, 103]


@pytest.mark.skipif(not SEED.exists(), reason="seed text not present")
def test_shipped_json_is_what_the_extractor_makes():
    extracted = tool.extract(SEED.read_text(encoding="utf-8"))
    for type_ in PUBLISHED:
        shipped = json.loads((ROOT / "agreements" / "data" / "templates" / f"{type_}_2026.json").read_text(encoding="utf-8"))
        assert extracted[type_] == shipped


@pytest.mark.skipif(not SEED.exists(), reason="seed text not present")
def test_extractor_fails_loudly_on_a_missing_article():
    text = SEED.read_text(encoding="utf-8")
    broken = "\n".join(line for line in text.splitlines() if not line.startswith("第十二条"))
    with pytest.raises(SystemExit, match="medical"):
        tool.extract(broken)


def test_unknown_template():
    with pytest.raises(ValueError):
        load_template("../secrets")
    with pytest.raises(FileNotFoundError):
        load_template("medical", "2031版")


@pytest.mark.parametrize("type_", PUBLISHED)
def test_pdf_has_every_article_in_order_the_parties_and_the_term(type_, rendered):
    text, pages = rendered[type_]
    assert pages > 3
    position = 0
    for article in _articles(load_template(type_)):
        found = text.find(article["number"], position)
        assert found >= 0, f"{article['number']} missing or out of order"
        position = found + len(article["number"])
    assert PARTY_A["name"] in text and PARTY_B["name"] in text
    assert "自2026年4月1日起至2029年3月31日止" in text
    assert "（2026版）" in text and "协议期限待定" not in text
    assert "乙方负责工伤保险工作的院领导：王五；专（兼）职管理人员：赵六、钱七" in text
    assert "第1页共" in text


def test_open_term_is_marked_pending():
    pdf = render_agreement_pdf(
        template=load_template("rehabilitation"),
        context=_context(valid_to=None, signed_on=None, leader="", managers=[], watermark="草拟"),
    )
    text, pages = _text(pdf)
    assert "自2026年4月1日起至（协议期限待定）止" in text
    assert "乙方负责工伤保险工作的" not in text
    assert pages > 3


def test_values_are_escaped():
    html = render_to_string(
        "agreements/agreement_pdf.html",
        agreement_context(template=load_template("devices"), context=_context(party_b={"name": "<b>乙</b>&"}, leader="<i>")),
    )
    assert "&lt;b&gt;乙&lt;/b&gt;&amp;" in html and "<b>乙" not in html
    assert "院领导：&lt;i&gt;" in html
