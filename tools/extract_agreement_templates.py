"""Derive the agreement templates (attachments 1-3) from the seed text extracted from the PDF.

Each attachment is a cover block (title, （2026版）, the party fields, the issuer and a date
line), a preamble, chapters of articles and a signature block.  One line of the seed is one
paragraph; we keep every paragraph's text as printed and only trim the whitespace around it.
The result is one JSON file per type, the versioned template data the agreement PDF is
rendered from (a 2027 template is another JSON file, no code):

    python tools/extract_agreement_templates.py ../shared/seeds/000_6c7349c0953d4533.txt \\
        agreements/data/templates/

Anything unexpected (article count, numbering, a wrapped paragraph, a missing term sentence)
stops the run with a message: the templates are legal text, a silent gap is worse than none.
"""

import json
import re
import sys
from pathlib import Path

REGION = "宁夏回族自治区"
ISSUER = "宁夏回族自治区社会保险事业管理局制订"

# type: (first line of the attachment, articles expected, highest article number)
ATTACHMENTS = {
    "medical": (None, 46, 46),  # attachment 1 starts at the top of the seed
    "rehabilitation": ("附件2", 34, 35),
    "devices": ("附件3", 38, 38),
}
END_MARKER = "附件4"  # the registries follow the three templates

# Irregularities of the published 2026 text, kept as printed (the agreement cites the template
# article numbers, so we do not renumber).  The run fails if one of them no longer holds, so
# these notes cannot go stale when a new seed arrives.
KNOWN_GAPS = {"rehabilitation": {34}}  # the template jumps from 第三十三条 to 第三十五条
KNOWN_REPEATED_CHAPTERS = {"rehabilitation": {5}}  # two chapters titled 第五章
KNOWN_UNNUMBERED_ITEMS = {"devices": {"第十五条"}}  # items （一）–（四） lost their markers
NOTES = {
    "rehabilitation": [
        "范本原文无第三十四条（第三十三条之后即为第三十五条），条文编号按范本保留。",
        "范本原文有两个“第五章”（跨省异地结算；监督检查和违约责任），章标题按范本保留。",
    ],
    "devices": [
        "第十五条所列第（一）至（四）项在范本提取文本中缺少项目序号，仅第（五）项带序号，按原文保留。",
    ],
}

COVER_LABELS = ["甲方", "法定代表人或委托代理人", "地址", "邮政编码", "联系电话"] + [
    "乙方", "法定代表人或委托代理人", "地址", "邮政编码", "联系电话"
]
# The term sentence whose blank dates the renderer fills (agreements/documents.py TERM_RE).
TERM_RE = re.compile(r"自\s*年\s*月\s*日起至\s*年\s*月\s*日止")

NUMERAL = "零一二三四五六七八九"
ARTICLE_RE = re.compile(r"^(第([一二三四五六七八九十百零]+)条)\s*(.*)$")
CHAPTER_RE = re.compile(r"^第([一二三四五六七八九十]+)章(\s.*|$)")
VERSION_RE = re.compile(r"^（(\d{4}版)）$")
SIGNATURE_START = re.compile(r"^甲方[（(]签章[）)]")
PARAGRAPH_END = tuple("。；：;:")
ITEM_RE = re.compile(r"^（([一二三四五六七八九十]+)）")


def cn_to_int(text: str) -> int:
    """一 → 1, 十 → 10, 十二 → 12, 四十六 → 46, 一百零三 → 103."""
    total, digit = 0, 0
    for ch in text:
        if ch in NUMERAL:
            digit = NUMERAL.index(ch)
        elif ch == "十":
            total += (digit or 1) * 10
            digit = 0
        elif ch == "百":
            total += (digit or 1) * 100
            digit = 0
        else:
            raise ValueError(f"not a Chinese numeral: {text!r}")
    return total + digit


class TemplateError(SystemExit):
    pass


def fail(kind, message):
    raise TemplateError(f"{kind}: {message}")


def _sections(lines):
    """Line ranges [start, end) of the three attachments (0-based)."""
    starts = {"medical": 0}
    end = None
    for i, line in enumerate(lines):
        s = line.strip()
        for kind, (marker, _, _) in ATTACHMENTS.items():
            if marker and s == marker:
                starts[kind] = i + 1
        if s == END_MARKER and end is None:
            end = i
    missing = set(ATTACHMENTS) - set(starts)
    if missing or end is None:
        raise TemplateError(f"seed: attachment markers missing: {sorted(missing) or END_MARKER}")
    order = sorted(starts, key=starts.get)
    bounds = {}
    for n, kind in enumerate(order):
        stop = starts[order[n + 1]] - 1 if n + 1 < len(order) else end
        bounds[kind] = (starts[kind], stop)
    return bounds


def _split_row(line):
    """A signature line holds party A's cell, a wide gap, party B's cell."""
    gaps = list(re.finditer(r"\s{2,}", line))
    if not gaps:
        return [line, ""]
    gap = max(gaps, key=lambda m: m.end() - m.start())
    return [line[: gap.start()].strip(), line[gap.end():].strip()]


def parse(kind, lines, first_line):
    body = [(first_line + k, line.rstrip()) for k, line in enumerate(lines)]
    it = iter([(n, l) for n, l in body if l.strip()])

    # Cover: title lines, （2026版）, the party fields, the issuer, the date line.
    title_lines, version = [], None
    for n, line in it:
        m = VERSION_RE.match(line.strip())
        if m:
            version = m.group(1)
            break
        title_lines.append(line.strip())
    if not version:
        fail(kind, "no （NNNN版） line on the cover")
    labels = []
    for n, line in it:
        s = line.strip()
        if s == ISSUER:
            break
        label = "".join(s.split("：", 1)[0].split())
        labels.append(label)
    else:
        fail(kind, f"issuer line {ISSUER!r} not found")
    if labels != COVER_LABELS:
        fail(kind, f"cover fields {labels} differ from {COVER_LABELS}")
    n, date_line = next(it)
    cover_date_parts = re.findall(r"[年月日]", date_line)
    if "".join(date_line.split()) not in ("年月日", "年月") or cover_date_parts[0] != "年":
        fail(kind, f"line {n}: expected the cover date line, got {date_line!r}")
    joined_title = "".join("".join(title_lines).split())
    if not joined_title.endswith("范本"):
        fail(kind, f"cover title {joined_title!r} does not end in 范本")
    title = joined_title.removesuffix("范本").removeprefix(REGION)

    # Preamble, chapters, articles, signature.
    preamble, chapters, signature = [], [], []
    article = None
    for n, line in it:
        s = line.strip()
        if signature or SIGNATURE_START.match(s):
            signature.append(s)
            continue
        m = CHAPTER_RE.match(s)
        if m:
            chapters.append({"title": s, "articles": []})
            article = None
            continue
        m = ARTICLE_RE.match(s)
        if m:
            if not chapters:
                fail(kind, f"line {n}: article before the first chapter")
            article = {"number": m.group(1), "paragraphs": [m.group(3).strip()]}
            article["_n"] = cn_to_int(m.group(2))
            chapters[-1]["articles"].append(article)
            continue
        if not s.endswith(PARAGRAPH_END):
            fail(kind, f"line {n}: paragraph does not end a sentence (wrapped line?): {s[:40]!r}")
        if article is not None:
            article["paragraphs"].append(s)
        elif not chapters:
            preamble.append(s)
        else:
            fail(kind, f"line {n}: text between a chapter heading and its first article: {s[:40]!r}")
    if len(preamble) != 1:
        fail(kind, f"expected one preamble paragraph, got {len(preamble)}")
    if not signature:
        fail(kind, "no signature block (甲方（签章）…)")

    # Numbering: the expected count, consecutive from 第一条 except the published gaps.
    _, expected_count, highest = ATTACHMENTS[kind]
    articles = [a for c in chapters for a in c["articles"]]
    numbers = [a.pop("_n") for a in articles]
    gaps = KNOWN_GAPS.get(kind, set())
    expected = [k for k in range(1, highest + 1) if k not in gaps]
    if len(articles) != expected_count:
        fail(kind, f"{len(articles)} articles, expected {expected_count}")
    if numbers != expected:
        fail(kind, f"article numbers {numbers} are not 1..{highest} without {sorted(gaps)}")
    for a in articles:
        if not a["paragraphs"][0]:
            fail(kind, f"{a['number']} has no text")

    # Enumerated items （一）（二）… of an article count up from （一）.
    odd_items = set()
    for a in articles:
        items = [cn_to_int(m.group(1)) for p in a["paragraphs"] if (m := ITEM_RE.match(p))]
        if items != list(range(1, len(items) + 1)):
            odd_items.add(a["number"])
    if odd_items != KNOWN_UNNUMBERED_ITEMS.get(kind, set()):
        fail(kind, f"articles with irregular item numbering {sorted(odd_items)}, "
             f"declared {sorted(KNOWN_UNNUMBERED_ITEMS.get(kind, set()))}")
    chapter_numbers = [cn_to_int(CHAPTER_RE.match(c["title"]).group(1)) for c in chapters]
    repeated = {k for k in chapter_numbers if chapter_numbers.count(k) > 1}
    if repeated != KNOWN_REPEATED_CHAPTERS.get(kind, set()) or sorted(set(chapter_numbers)) != list(
        range(1, max(chapter_numbers) + 1)
    ):
        fail(kind, f"chapter numbers {chapter_numbers} (declared repeats "
             f"{sorted(KNOWN_REPEATED_CHAPTERS.get(kind, set()))})")

    # The article holding the term sentence, with its blank dates.
    term = [a["number"] for a in articles if sum(len(TERM_RE.findall(p)) for p in a["paragraphs"]) == 1]
    if len(term) != 1 or sum(len(TERM_RE.findall(p)) for a in articles for p in a["paragraphs"]) != 1:
        fail(kind, f"expected exactly one term sentence (本协议有效期自…止), found in {term}")

    return {
        "type": kind,
        "version": version,
        "region": REGION,
        "title": title,
        "issuer": ISSUER,
        "cover_date_parts": cover_date_parts,
        "preamble": preamble[0],
        "chapters": chapters,
        "article_count": len(articles),
        "term_article": term[0],
        "signature": signature,
        "signature_rows": [_split_row(line) for line in signature],
        "notes": NOTES.get(kind, []),
        "source": f"000_6c7349c0953d4533.txt, lines {first_line}–{first_line + len(lines) - 1}",
    }


def extract(text: str) -> dict:
    lines = text.splitlines()
    out = {}
    for kind, (start, stop) in _sections(lines).items():
        out[kind] = parse(kind, lines[start:stop], start + 1)
    return out


def main(seed, target):
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    for kind, template in extract(Path(seed).read_text(encoding="utf-8")).items():
        year = re.sub(r"\D", "", template["version"])
        path = target / f"{kind}_{year}.json"
        path.write_text(json.dumps(template, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"{kind}: {template['article_count']} articles, term in {template['term_article']} -> {path}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(*sys.argv[1:3])
