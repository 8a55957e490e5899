"""Benchmark of the declarations import and the month-end run against bare PostgreSQL (issue 4 §5).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench \\
        .venv/bin/python bench/run_benchmark.py --lines 100000 --lines 1000000

For each --lines N, on one dedicated database (DATABASE_URL, default portal_bench; its name must
contain "bench", as everything in its settlement tables is deleted; created, migrated and loaded
with `load_demo` when missing, or with --reset-db), it generates a declarations file of N lines for one month
(bench/generate_declarations.py, under --workdir, deleted afterwards unless --keep-files) and
measures, each operation in a subprocess of its own:

  import     the path of `manage.py import_declarations PATH`: open_rows + file_sha256 +
             declarations_import(source=command, actor=None), committed;
  copy       COPY bench_copy FROM STDIN (FORMAT csv, HEADER) of the same file, streamed from Python
             in 1 MB chunks into a fresh, logged table of the 11 columns without indexes or
             constraints (text ×5, date ×2, numeric(14,2) ×4), committed;
  copy-lines (informative) COPY of the lines the import stored, in the lines table's own columns,
             into an empty table with settlement_declarationline's indexes, CHECKs and deferred
             foreign keys: what storing the rows costs the server however they are loaded;
  approve    lines_approve_pending(period, actor=None): what makes the lines payable (not compared);
  run        settlement_month_end_run(period, actor=None), committed;
  aggregate  the bare GROUP BY over the approved lines of the month per institution (AGGREGATE_SQL).

Every operation starts right after a CHECKPOINT. Between approve and run the lines table is
VACUUM ANALYZEd and the database ANALYZEd, as autovacuum would have done in the days between the
review and the month-end, so that neither of run and aggregate pays for cleaning up after the
other and both are planned with statistics. Import and COPY are timed --repeat times (a fresh
start each time), run and aggregate --repeat-run times, alternating which goes first; the
median is reported. Run and aggregate must agree to the fen on every institution.

Memory: each subprocess reports ru_maxrss (its peak resident set) after the operation minus its
ru_maxrss after Django setup and a first query, i.e. what the operation itself added at peak.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/portal_bench"
COPY_TABLE = "bench_copy"
LINES_TABLE = "bench_lines"
COPY_DDL = f"""CREATE TABLE {COPY_TABLE} (
    code text, period text, card_no text, name text, category text, visit_date date, discharge_date date,
    total numeric(14,2), in_scope numeric(14,2), self_paid numeric(14,2), non_injury numeric(14,2))"""
AGGREGATE_SQL = """
    SELECT d.institution_id, sum(l.approved_amount), count(*)
    FROM settlement_declarationline l JOIN settlement_declaration d ON d.id = l.declaration_id
    WHERE d.period = %s AND l.status IN ('approved', 'reduced') AND NOT l.carried
    GROUP BY 1"""
# Everything a run of the benchmark writes; TRUNCATE ... CASCADE also empties what refers to them.
RESET_TABLES = [
    "settlement_declarationline", "settlement_lineitem", "settlement_importrejection", "settlement_declaration",
    "settlement_declarationimport", "settlement_bulkreview", "settlement_deductionoffset", "settlement_holdrelease",
    "settlement_monthlysettlement", "settlement_monthlybatch", "settlement_settlementrun",
]


# ---- the child: one operation, timed, with its peak memory --------------------------------------------


def _rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def child(op: str, path: str, period: date) -> dict:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection, transaction

    from settlement.management.commands.import_declarations import file_sha256
    from settlement.models import DeclarationLine, ImportSource, MonthlySettlement
    from settlement.services.declaration_files import open_rows
    from settlement.services.declaration_import import declarations_import
    from settlement.services.month_end import settlement_month_end_run
    from settlement.services.review import lines_approve_pending

    with connection.cursor() as cur:  # connect now: the baseline includes the open connection
        cur.execute("SELECT 1")
    baseline = _rss_kib()
    out: dict = {"op": op}
    cpu0 = _cpu()
    t0 = time.perf_counter()

    if op == "import":
        # Where the time goes: wrap the two set-based steps (module globals, so the wrappers are
        # what declarations_import calls). Streaming is everything before the first of them.
        from settlement.services import declaration_import as di

        marks = {}

        def timed(name, fn):
            def wrapper(*a, **kw):
                marks.setdefault(name + "_start", time.perf_counter())
                try:
                    return fn(*a, **kw)
                finally:
                    marks[name + "_end"] = time.perf_counter()

            return wrapper

        di._lock_months = timed("lock", di._lock_months)
        di._insert_lines = timed("insert", di._insert_lines)
        with open(path, "rb") as fh:
            rows = open_rows(fh, path)
            report = declarations_import(
                rows=rows.rows, source=ImportSource.COMMAND, actor=None, file_name=path, sha256=file_sha256(fh)
            )
        b = report.batch
        out.update(rows=b.rows, accepted=b.accepted, duplicates=b.duplicates, rejected=b.rejected)
        end = time.perf_counter()
        out["phases"] = {
            "stream": marks["lock_start"] - t0,  # read, check, COPY into the staging table
            "insert": marks["insert_end"] - marks["lock_start"],  # lock months, INSERT … SELECT
            "finish": end - marks["insert_end"],  # report, late flags, COMMIT (deferred FK checks)
        }
    elif op == "copy":
        with connection.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {COPY_TABLE}")
            cur.execute(COPY_DDL)
        t0, cpu0 = time.perf_counter(), _cpu()  # the DDL is not part of what is compared
        with transaction.atomic(), connection.cursor() as cur, open(path, "rb") as fh:
            with cur.cursor.copy(f"COPY {COPY_TABLE} FROM STDIN (FORMAT csv, HEADER)") as copy:
                while chunk := fh.read(1 << 20):
                    copy.write(chunk)
            out["rows"] = cur.cursor.rowcount
    elif op == "copy-lines":
        # The floor of any loader into the portal's own table: COPY the lines just imported (dumped
        # to a file first, untimed) into an empty table of the same shape as
        # settlement_declarationline: its columns, CHECK constraints, indexes (the unique
        # fingerprint among them) and deferred foreign keys — no Python, no dedup, no sort.
        dump = f"{path}.lines"
        columns = [f.column for f in DeclarationLine._meta.concrete_fields if f.column != "id"]
        with connection.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {LINES_TABLE}")
            cur.execute(
                f"CREATE TABLE {LINES_TABLE} (LIKE settlement_declarationline INCLUDING DEFAULTS INCLUDING IDENTITY"
                " INCLUDING CONSTRAINTS INCLUDING INDEXES)"
            )
            cur.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE conrelid = 'settlement_declarationline'::regclass AND contype = 'f'"
            )
            for (definition,) in cur.fetchall():
                cur.execute(f"ALTER TABLE {LINES_TABLE} ADD {definition}")
            with open(dump, "wb") as sink, cur.cursor.copy(
                f"COPY (SELECT {', '.join(columns)} FROM settlement_declarationline ORDER BY id) TO STDOUT"
            ) as copy:
                for data in copy:
                    sink.write(data)
        try:
            t0, cpu0 = time.perf_counter(), _cpu()
            with transaction.atomic(), connection.cursor() as cur, open(dump, "rb") as fh:
                with cur.cursor.copy(f"COPY {LINES_TABLE} ({', '.join(columns)}) FROM STDIN") as copy:
                    while chunk := fh.read(1 << 20):
                        copy.write(chunk)
                out["rows"] = cur.cursor.rowcount
            # (the deferred foreign keys are checked at the COMMIT that ends the atomic block)
        finally:
            os.unlink(dump)
    elif op == "approve":
        result = lines_approve_pending(period=period, actor=None)
        out.update(rows=result.approved)
    elif op == "run":
        result = settlement_month_end_run(period=period, actor=None)
        out.update(institutions=sum(b.rows for b in result.batches))
    elif op == "aggregate":
        with connection.cursor() as cur:
            cur.execute(AGGREGATE_SQL, [period])
            sums = cur.fetchall()
        out.update(institutions=len(sums))
    else:
        raise SystemExit(f"unknown operation {op}")

    out["seconds"] = time.perf_counter() - t0
    out["cpu_seconds"] = _cpu() - cpu0
    out["peak_rss_mib"] = (_rss_kib() - baseline) / 1024
    out["baseline_rss_mib"] = baseline / 1024
    # What run and aggregate computed, for the parent to compare (read after the measurement).
    if op == "run":
        out["sums"] = {
            str(i): [str(a), n]
            for i, a, n in MonthlySettlement.objects.filter(period=period).values_list(
                "institution_id", "approved_amount", "line_count"
            )
        }
    elif op == "aggregate":
        out["sums"] = {str(i): [str(a), n] for i, a, n in sums}
    return out


# ---- the parent: database, files, the sequence of operations, the table ----------------------------------


def sh(cmd: list[str], env: dict, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, env=env, check=True, **kw)


def psql(env: dict, sql: str, db: str | None = None) -> None:
    import psycopg

    url = env["DATABASE_URL"]
    if db is not None:
        url = url.rsplit("/", 1)[0] + "/" + db
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def ensure_database(env: dict, reset: bool) -> None:
    import psycopg

    url = env["DATABASE_URL"]
    name = url.rsplit("/", 1)[1].split("?")[0]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and reset:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        if reset or not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    sh([sys.executable, "manage.py", "migrate", "-v0"], env)  # also brings an old bench database up to date
    if reset or not exists:
        print(f"created {name}: load_demo", flush=True)
        sh([sys.executable, "manage.py", "load_demo"], env, stdout=subprocess.DEVNULL)


def reset_data(env: dict) -> None:
    psql(env, f"TRUNCATE {', '.join(RESET_TABLES)} CASCADE; DROP TABLE IF EXISTS {COPY_TABLE}, {LINES_TABLE}")


def run_child(env: dict, op: str, path: str, period: str) -> dict:
    # Start every operation right after a checkpoint: a million lines write ~1 GB of WAL, and a
    # checkpoint falling inside one measurement and not another was the largest source of noise.
    psql(env, "CHECKPOINT")
    proc = sh(
        [sys.executable, __file__, "--child", op, "--file", path, "--period", period],
        env, stdout=subprocess.PIPE, text=True,
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"  {op:<9} {result['seconds']:8.2f} s  peak +{result['peak_rss_mib']:.1f} MiB", flush=True)
    return result


def bench_lines(env: dict, n: int, args) -> dict:
    path = str(Path(args.workdir) / f"declarations_{n}.csv")
    print(f"\n== {n} lines", flush=True)
    t = time.perf_counter()
    sh([sys.executable, "bench/generate_declarations.py", "--lines", str(n), "--period", args.period,
        "--seed", str(args.seed), "-o", path], env)
    print(f"  generated in {time.perf_counter() - t:.1f} s", flush=True)
    try:
        with open(path, "rb") as fh:  # warm the page cache once, so neither contestant pays for the disk
            while fh.read(1 << 24):
                pass
        imports, copies = [], []
        for i in range(args.repeat):
            reset_data(env)
            # Alternate which goes first, so that neither always meets a cold or a busy server.
            order = ("import", "copy") if i % 2 == 0 else ("copy", "import")
            for op in order:
                (imports if op == "import" else copies).append(run_child(env, op, path, args.period))
        imp = imports[-1]
        if imp["accepted"] != n or imp["rejected"] or imp["duplicates"]:
            raise SystemExit(f"import stored {imp['accepted']} of {n} lines: {imp}")
        if any(c["rows"] != n for c in copies):
            raise SystemExit(f"COPY loaded {copies[-1]['rows']} of {n} rows")
        copy_lines = run_child(env, "copy-lines", path, args.period)
        psql(env, f"DROP TABLE IF EXISTS {LINES_TABLE}")
        approve = run_child(env, "approve", path, args.period)
        # What autovacuum does in the days between review and month-end: clean up after the
        # approval's UPDATE and give the planner statistics for the new lines and declarations.
        psql(env, "VACUUM ANALYZE settlement_declarationline")
        psql(env, "ANALYZE")
        runs, aggs = [], []
        for i in range(args.repeat_run):
            order = ("run", "aggregate") if i % 2 == 0 else ("aggregate", "run")
            for op in order:
                (runs if op == "run" else aggs).append(run_child(env, op, path, args.period))
        for r in runs:
            if r["sums"] != aggs[0]["sums"]:
                raise SystemExit("the month-end run and the bare aggregate disagree")
        print(f"  run and aggregate agree on {len(aggs[0]['sums'])} institutions", flush=True)
    finally:
        if not args.keep_files:
            os.unlink(path)
    return {
        "lines": n, "import": imports, "copy": copies, "copy-lines": [copy_lines], "approve": [approve],
        "run": runs, "aggregate": aggs,
    }


def _median(results: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in results)


def table(all_results: list[dict]) -> str:
    out = [
        "| lines | operation | seconds | rows/s | client CPU s | peak RSS over baseline (MiB) |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    labels = {
        "import": "portal import (import_declarations path)", "copy": "COPY … FROM STDIN (FORMAT csv, HEADER), bare table",
        "copy-lines": "COPY of the stored lines into a table shaped like settlement_declarationline (floor)",
        "approve": "approve all pending (not compared)", "run": "month-end run", "aggregate": "bare GROUP BY aggregate",
    }
    for res in all_results:
        n = res["lines"]
        for op in ("import", "copy", "copy-lines", "approve", "run", "aggregate"):
            rs = res[op]
            secs = _median(rs, "seconds")
            rate = f"{n / secs:,.0f}" if op in ("import", "copy", "copy-lines", "approve") else "—"
            mem = max(r["peak_rss_mib"] for r in rs)
            out.append(
                f"| {n:,} | {labels[op]} | {secs:.2f} | {rate} | {_median(rs, 'cpu_seconds'):.2f} | {mem:.1f} |"
            )
    out += [
        "", "| lines | import: read + check + COPY to staging | INSERT … SELECT into the lines table | report + COMMIT (deferred FK checks) |",
        "|---:|---:|---:|---:|",
    ]
    for res in all_results:
        phases = {k: statistics.median(r["phases"][k] for r in res["import"]) for k in ("stream", "insert", "finish")}
        out.append(f"| {res['lines']:,} | {phases['stream']:.2f} s | {phases['insert']:.2f} s | {phases['finish']:.2f} s |")
    out += ["", "| lines | import speed ÷ COPY speed (aim ≥ 0.33) | run time ÷ aggregate time (aim ≤ 2) |", "|---:|---:|---:|"]
    for res in all_results:
        speed = _median(res["copy"], "seconds") / _median(res["import"], "seconds")
        ratio = _median(res["run"], "seconds") / _median(res["aggregate"], "seconds")
        out.append(f"| {res['lines']:,} | {speed:.2f} | {ratio:.2f} |")
    return "\n".join(out)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, action="append", help="lines per file; repeat for several sizes (default 1000000)")
    parser.add_argument("--period", default="2026-10", help="the month declared (YYYY-MM, a month that is over)")
    parser.add_argument("--seed", type=int, default=20260301)
    parser.add_argument("--repeat", type=int, default=1, help="times import and COPY are measured (median reported)")
    parser.add_argument("--repeat-run", type=int, default=3, help="times run and aggregate are measured (median reported)")
    parser.add_argument("--workdir", default="/tmp/bench", help="where the generated files go (deleted afterwards)")
    parser.add_argument("--keep-files", action="store_true")
    parser.add_argument("--reset-db", action="store_true", help="drop and recreate the database first")
    parser.add_argument("--keep-data", action="store_true", help="leave the last size's lines in the database (to inspect plans)")
    parser.add_argument("--json", help="also write the raw figures to this file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    year, month = map(int, args.period.split("-"))
    period = date(year, month, 1)

    if args.child:
        print(json.dumps(child(args.child, args.file, period)))
        return

    env = dict(os.environ)
    env.setdefault("DATABASE_URL", DEFAULT_URL)
    env["PYTHONUNBUFFERED"] = "1"
    name = env["DATABASE_URL"].rsplit("/", 1)[-1].split("?")[0]
    if "bench" not in name:
        # It empties the settlement tables: never let a DATABASE_URL left over from work do that.
        raise SystemExit(f"refusing database {name!r}: use a dedicated one whose name contains 'bench'")
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    ensure_database(env, args.reset_db)
    results = []
    try:
        for n in args.lines or [1_000_000]:
            results.append(bench_lines(env, n, args))
    finally:
        if not args.keep_data:
            reset_data(env)  # leave the bench database small
    text = table(results)
    print("\n" + text)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
