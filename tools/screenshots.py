"""Log in as a user and screenshot pages of a running portal (for looking at pages as users do).

    .venv/bin/python tools/screenshots.py --base http://127.0.0.1:8000 --user staff_yinchuan \
        --out artifacts/screenshots /settlement/review/ /settlement/months/

Uses Debian's Chromium through Playwright (never `playwright install`).
"""

import argparse
import os
import re
from pathlib import Path

CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", default=os.environ.get("PORTAL_DEMO_PASSWORD", "Portal-2026!"))
    parser.add_argument("--out", default="artifacts/screenshots")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=0, help="screenshot only the top this many pixels (0: the whole page)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": args.width, "height": 900})
        page.goto(f"{args.base}/accounts/login/")
        page.fill("input[name=username]", args.user)
        page.fill("input[name=password]", args.password)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        for path in args.paths:
            page.goto(args.base + path)
            page.wait_for_load_state("networkidle")
            name = f"{args.user}_{re.sub(r'[^a-zA-Z0-9]+', '_', path).strip('_') or 'home'}.png"
            if args.height:
                page.set_viewport_size({"width": args.width, "height": args.height})
                page.screenshot(path=str(out / name))
            else:
                page.screenshot(path=str(out / name), full_page=True)
            print(out / name)
        browser.close()


if __name__ == "__main__":
    main()
