"""The agreement document: the versioned template text (agreements/data/templates/*.json, made by
tools/extract_agreement_templates.py) with the parties, term and signing date filled, as a PDF."""

import datetime
import json
import re
from pathlib import Path

TEMPLATE_DIR = Path(__file__).resolve().parent / "data" / "templates"
TEMPLATE_TYPES = ("medical", "rehabilitation", "devices")

# The blank dates of the term sentence "本协议有效期自   年   月   日起至   年   月   日止".
TERM_RE = re.compile(r"自\s*年\s*月\s*日起至\s*年\s*月\s*日止")
TERM_PENDING = "（协议期限待定）"
ITEM_RE = re.compile(r"^（[一二三四五六七八九十]+）")
DATE_ROW_RE = re.compile(r"^年\s*月\s*日$")
PARTY_FIELDS = ("name", "representative", "address", "postal_code", "phone")


def load_template(type_: str, version: str = "2026版") -> dict:
    """The template of that type and version: medical + "2026版" reads medical_2026.json."""
    year = re.sub(r"\D", "", version)
    if type_ not in TEMPLATE_TYPES or not year:
        raise ValueError(f"no agreement template for type {type_!r}, version {version!r}")
    path = TEMPLATE_DIR / f"{type_}_{year}.json"
    if not path.exists():
        raise FileNotFoundError(f"agreement template {path.name} not found in {TEMPLATE_DIR}")
    return json.loads(path.read_text(encoding="utf-8"))


def cn_date(d: datetime.date | None, parts=("年", "月", "日")) -> str:
    """2026年4月1日 (or 2026年4月 when the template's date line has no day); "" for None."""
    if d is None:
        return ""
    values = {"年": d.year, "月": d.month, "日": d.day}
    return "".join(f"{values[p]}{p}" for p in parts)


def _term_segments(text, valid_from, valid_to):
    """The term sentence split into (text, css class) pieces: the dates filled or marked pending."""
    m = TERM_RE.search(text)
    if not m:
        return [(text, "")]

    def date(d):
        return (cn_date(d), "fill") if d else (TERM_PENDING, "pending")

    return [(text[: m.start()] + "自", ""), date(valid_from), ("起至", ""), date(valid_to), ("止" + text[m.end():], "")]


def _chapters(template, valid_from, valid_to):
    chapters = []
    for chapter in template["chapters"]:
        articles = []
        for article in chapter["articles"]:
            is_term = article["number"] == template.get("term_article")
            paragraphs = []
            for text in article["paragraphs"]:
                segments = _term_segments(text, valid_from, valid_to) if is_term else [(text, "")]
                paragraphs.append({"segments": segments, "item": bool(ITEM_RE.match(text))})
            articles.append({"number": article["number"], "first": paragraphs[0], "rest": paragraphs[1:]})
        chapters.append({"title": chapter["title"], "articles": articles})
    return chapters


def _signature(template, party_a, party_b, signed_on):
    """Rows of [A cell, B cell], each {label, value, line}: line = a blank to sign or stamp on."""
    rows = []
    for left, right in template["signature_rows"]:
        row = []
        for label, party in ((left, party_a), (right, party_b)):
            if DATE_ROW_RE.match(label):
                date = cn_date(signed_on)
                row.append({"label": "", "value": date or "      年    月    日", "line": False})
            elif "签章" in label:
                row.append({"label": label, "value": party.get("name", ""), "line": True})
            else:
                row.append({"label": label, "value": "", "line": True})
        rows.append(row)
    return rows


def agreement_context(*, template: dict, context: dict) -> dict:
    """What templates/agreements/agreement_pdf.html needs (see render_agreement_pdf)."""
    party_a = {k: context.get("party_a", {}).get(k) or "" for k in PARTY_FIELDS}
    party_b = {k: context.get("party_b", {}).get(k) or "" for k in PARTY_FIELDS}
    valid_from, valid_to = context.get("valid_from"), context.get("valid_to")
    signed_on = context.get("signed_on")
    managers = [m for m in context.get("managers") or [] if m]
    return {
        "template": template,
        "number": context.get("number") or "",
        "status_label": context.get("status_label") or "",
        "watermark": context.get("watermark") or "",
        "parties": [("甲", party_a), ("乙", party_b)],
        "party_b": party_b,
        "cover_date": cn_date(signed_on, template.get("cover_date_parts", ("年", "月", "日"))),
        "chapters": _chapters(template, valid_from, valid_to),
        "leader": context.get("leader") or "",
        "managers": "、".join(managers),
        "signature_rows": _signature(template, party_a, party_b, signed_on),
    }


def render_agreement_pdf(*, template: dict, context: dict) -> bytes:
    """The agreement as an A4 PDF.

    context: number (协议编号); party_a, party_b: {name, representative, address, postal_code,
    phone}; valid_from, valid_to, signed_on: datetime.date or None; leader (乙方院领导, may be "");
    managers (list of names); status_label (e.g. "生效"); watermark (optional, e.g. "草拟").
    """
    from django.template.loader import render_to_string

    from core.pdf import html_to_pdf

    html = render_to_string("agreements/agreement_pdf.html", agreement_context(template=template, context=context))
    return html_to_pdf(html)
