"""Write a declarations file (SPEC §8 columns) of N lines for one month, for the benchmark.

    .venv/bin/python bench/generate_declarations.py --lines 1000000 --period 2026-10 -o /tmp/bench/decl.csv

The institution codes (机构编码) come from the portal's database (DATABASE_URL, after `load_demo`):
every institution of the registry gets lines, and the categories an institution declares follow
its designations (a medical institution declares 住院 and 门诊, a rehabilitation one 康复, a device
one 辅助器具). With --registry, the codes are read instead from `export_registry --format csv`
files (the 机构编码 column) and every category is used for every institution.

The file is written row by row (nothing but the institution list is held in memory), is the same
for the same --seed, and holds no two identical rows: each injured worker has a card number of
their own and their visits in the month fall on distinct days, so every row's fingerprint
(SPEC §8: "re-importing the same file adds nothing twice") is different and every row is stored.
Amounts have two decimals and in-scope + self-paid + non-injury == total, to the fen.
"""

import argparse
import bisect
import csv
import itertools
import os
import random
import sys
from calendar import monthrange
from datetime import date, timedelta
from pathlib import Path

HEADERS = ["机构编码", "结算月份", "社会保障卡号", "姓名", "类别", "就诊日期", "出院日期", "总费用", "统筹范围内费用", "个人自付", "非工伤费用"]

# Categories by designation type (institutions.DesignationType) and how often each is declared.
CATEGORIES_BY_TYPE = {
    "medical": [("住院", 3), ("门诊", 7)],
    "rehabilitation": [("康复", 1)],
    "devices": [("辅助器具", 1)],
}
ALL_CATEGORIES = [("住院", 3), ("门诊", 7), ("康复", 2), ("辅助器具", 1)]
# Total cost range in yuan per category (lognormal-ish draws clipped to it).
COST = {"住院": (1500, 150000, 9.5), "门诊": (30, 3000, 5.5), "康复": (300, 40000, 8.2), "辅助器具": (200, 30000, 7.8)}

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英建华文辉玉兰海燕志红军国庆卫东小龙春梅金凤德福永宁贺兰银川固原吴忠中卫学斌鹏飞雪梅晓东宏伟"
# ISO 7064 MOD 11-2 check digit of the 18-digit resident ID number (GB 11643), which is the
# social-security card number in Ningxia.
_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_CHECK = "10X98765432"
BIRTH_DAYS = 365 * 40  # birth dates spread over 40 years (1966-2005)


def read_codes_from_db() -> list[tuple[str, str, list[str]]]:
    """(code, division code, designation types) of every institution, in code order."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from institutions.models import Designation, Institution

    types: dict[int, list[str]] = {}
    for inst_id, type_ in Designation.objects.order_by("type").values_list("institution_id", "type"):
        types.setdefault(inst_id, []).append(type_)
    return [
        (code, division or "640100", types.get(pk, []))
        for pk, code, division in Institution.objects.order_by("code").values_list("pk", "code", "division_code")
    ]


def read_codes_from_registry(paths: list[str]) -> list[tuple[str, str, list[str]]]:
    """The union of the 机构编码 column of export_registry CSV files (UTF-8 with BOM)."""
    seen: dict[str, str] = {}
    for path in paths:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            for row in csv.DictReader(fh):
                code = (row.get("机构编码") or "").strip()
                if code:
                    seen.setdefault(code, (row.get("行政区划代码") or "640100").strip())
    return [(code, division, []) for code, division in sorted(seen.items())]


def id_number(worker: int, division: str) -> str:
    """A well-formed 18-digit ID number that is unique per worker: the worker's index is spread
    over (birth date, sequence number) one-to-one, so no two workers share a card."""
    born = date(1966, 1, 1) + timedelta(days=worker % BIRTH_DAYS)
    seq = worker // BIRTH_DAYS
    if seq > 999:
        raise SystemExit("too many workers for unique ID numbers")
    body = f"{division[:6]:0<6}{born:%Y%m%d}{seq:03d}"
    return body + _CHECK[sum(int(c) * w for c, w in zip(body, _WEIGHTS)) % 11]


class Picker:
    """Weighted choice by bisect over cumulative weights (random.choices is slower per call)."""

    def __init__(self, items, weights):
        self.items = list(items)
        self.cum = list(itertools.accumulate(weights))

    def __call__(self, rng: random.Random):
        return self.items[bisect.bisect_right(self.cum, rng.random() * self.cum[-1])]


def split_total(rng: random.Random, category: str) -> tuple[int, int, int, int]:
    """(total, in_scope, self_paid, non_injury) in fen, the parts adding up to the total."""
    low, high, mu = COST[category]
    total = int(min(max(rng.lognormvariate(mu, 0.9), low), high) * 100)
    non_injury = 0 if rng.random() < 0.8 else int(total * rng.uniform(0.01, 0.15))
    self_paid = int((total - non_injury) * rng.uniform(0.0, 0.2))
    in_scope = total - non_injury - self_paid
    return total, in_scope, self_paid, non_injury


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def generate(out, *, lines: int, period: date, seed: int, institutions) -> int:
    rng = random.Random(seed)
    days = monthrange(period.year, period.month)[1]
    month = f"{period:%Y-%m}"
    # Lines per institution follow a skewed (Zipf-like) share: the big hospitals declare most.
    order = list(range(len(institutions)))
    rng.shuffle(order)
    pick_inst = Picker(order, [1.0 / (rank + 1) ** 0.8 for rank in range(len(order))])
    category_pickers = []
    for _, _, types in institutions:
        cats = [c for t in types for c in CATEGORIES_BY_TYPE.get(t, [])] or ALL_CATEGORIES
        category_pickers.append(Picker([c for c, _ in cats], [w for _, w in cats]))
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADERS)
    written = 0
    worker = 0
    while written < lines:
        # The first workers go one to each institution, so that every institution has lines.
        inst = worker if worker < len(institutions) else pick_inst(rng)
        code, division, _ = institutions[inst]
        card = id_number(worker, division)
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        visits = min(rng.choice((1, 1, 2, 3, 4, 6)), lines - written)
        # Distinct visit days per worker: together with the unique card, every row is distinct.
        for day in sorted(rng.sample(range(1, days + 1), visits)):
            category = category_pickers[inst](rng)
            visit = date(period.year, period.month, day)
            discharge = ""
            if category == "住院" or (category == "康复" and rng.random() < 0.5):
                # A stay discharged within the month (a stay still running is declared next month).
                discharge = (visit + timedelta(days=rng.randint(0, days - day))).isoformat()
            total, in_scope, self_paid, non_injury = split_total(rng, category)
            writer.writerow([
                code, month, card, name, category, visit.isoformat(), discharge,
                yuan(total), yuan(in_scope), yuan(self_paid), yuan(non_injury),
            ])
            written += 1
        worker += 1
    return written


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--period", default="2026-10", help="结算月份 YYYY-MM (a month that is over)")
    parser.add_argument("--seed", type=int, default=20260301)
    parser.add_argument("--registry", nargs="*", help="export_registry CSV files to read 机构编码 from instead of the database")
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args(argv)
    year, month = map(int, args.period.split("-"))
    institutions = read_codes_from_registry(args.registry) if args.registry else read_codes_from_db()
    if not institutions:
        raise SystemExit("no institutions: run `manage.py load_demo` first (or pass --registry)")
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    # A 1 MB write buffer: the file goes to disk in big chunks as it is generated, never held whole.
    with open(args.output, "w", encoding="utf-8", newline="", buffering=1 << 20) as out:
        n = generate(out, lines=args.lines, period=date(year, month, 1), seed=args.seed, institutions=institutions)
    print(f"wrote {n} lines for {len(institutions)} institutions to {args.output} ({os.path.getsize(args.output)} bytes)")


if __name__ == "__main__":
    main()
