"""Every page each role can reach, in Chromium at phone width: axe-core's WCAG 2.1 A/AA rules
find no serious or critical violation, and no page is wider than the 390 px screen. The pages
are found by following the links of each role's pages (one page per URL shape: /listings/3 and
/listings/4 are one shape), so a new page is checked without being listed here. Screenshots of
each role's pages at 390 and 1280 px go to test-results/accessibility/."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from tests.conftest import DEMO_TOTP_SECRET, browser_sign_in

pytestmark = [pytest.mark.live, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-results" / "accessibility"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SKIP = re.compile(
    r"^/(feeds|api|static|bootstrap|help)/|/logout|/download|/documents/|\.(pdf|csv|json|png|jpe?g)$"
    r"|/export|/preview\.pdf"
)
# an organization's admin (provider@) sees every portal page a colleague sees, and more
ROLES = {
    "provider": ("provider@demo.test", None, "/portal/"),
    "reviewer": ("reviewer@demo.test", DEMO_TOTP_SECRET, "/review/"),
    "admin": ("admin@demo.test", DEMO_TOTP_SECRET, "/manage/"),
}
MAX_PAGES = 60


def shape(path: str) -> str:
    return re.sub(r"/\d+", "/{n}", path)


def axe_serious(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_21_AA}})
    return [
        f"{v['id']} ({v['impact']}): {n['target']}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
        for n in v["nodes"]
    ]


def overflow(page) -> int:
    return page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")


def too_wide(page) -> list[str]:
    """The outermost elements that stick out past the right edge of the screen."""
    return page.evaluate(
        """() => {
          const w = window.innerWidth, out = [];
          for (const el of document.body.querySelectorAll('*')) {
            const r = el.getBoundingClientRect();
            if (r.right > w + 1 && !(el.parentElement && el.parentElement.getBoundingClientRect().right > w + 1)) {
              let scroller = el.closest('.table-responsive');
              if (!scroller) out.push(el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).split(' ').join('.') : '') + ' ' + Math.round(r.right));
            }
          }
          return out.slice(0, 5);
        }"""
    )


def crawl(page, base: str, start: str) -> list[str]:
    """Same-origin GET pages reachable from `start`, one per URL shape, breadth first."""
    seen_shapes: set[str] = set()
    queue, pages = [start], []
    while queue and len(pages) < MAX_PAGES:
        path = queue.pop(0)
        if shape(path) in seen_shapes:
            continue
        seen_shapes.add(shape(path))
        resp = page.goto(base + path)
        if (
            resp is None
            or resp.status != 200
            or "text/html" not in resp.headers.get("content-type", "")
        ):
            continue
        pages.append(path)
        for href in page.eval_on_selector_all(
            "a[href]", "els => els.map(e => e.getAttribute('href'))"
        ):
            url = urlsplit(urljoin(base + path, href))
            if url.netloc != urlsplit(base).netloc or not url.path or SKIP.search(url.path):
                continue
            if shape(url.path) not in seen_shapes:
                queue.append(url.path)
    return pages


@pytest.mark.parametrize("role", ["provider", "reviewer"])
def test_every_page_of_every_role_passes_axe_and_fits_a_phone(browser, live_server, role):
    check_role(browser, live_server, role)


def check_role(browser, live_server, role: str) -> None:
    email, totp, home = ROLES[role]
    base = live_server.url
    context = browser.new_context(viewport={"width": 390, "height": 844}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems: dict[str, list[str]] = {}
    try:
        browser_sign_in(page, base, email, totp_secret=totp)
        page.wait_for_url(re.compile(f".*{re.escape(home)}.*"))
        pages = crawl(page, base, home)
        assert len(pages) >= 5, pages
        SHOTS.mkdir(parents=True, exist_ok=True)
        for path in pages:
            page.goto(base + path)
            found = axe_serious(page)
            wider = overflow(page)
            if wider > 0:
                found.append(f"{wider}px wider than the 390px screen: {too_wide(page)}")
            if found:
                problems[path] = found
            if path == home:
                page.screenshot(path=str(SHOTS / f"{role}-home-390.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(base + home)
        page.screenshot(path=str(SHOTS / f"{role}-home-1280.png"), full_page=True)
    finally:
        context.close()
    report = "\n".join(f"{p}\n    " + "\n    ".join(v) for p, v in problems.items())
    assert not problems, f"{role}: {len(pages)} pages, {len(problems)} with problems\n{report}"


def test_the_admin_header_fits_one_line_at_1280(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        browser_sign_in(page, live_server.url, "admin@demo.test", totp_secret=DEMO_TOTP_SECRET)
        page.wait_for_url(re.compile(".*/manage/.*"))
        rows = page.evaluate(
            """() => {
              // 1 when no item's text wraps and every item shares one band; else 2
              const nav = document.querySelector('header nav');
              let wrapped = false, lowestTop = -1e9, highestBottom = 1e9;
              for (const el of nav.querySelectorAll('a, button, .navbar-text')) {
                if (!el.offsetParent) continue;
                const range = document.createRange();
                range.selectNodeContents(el);
                const rects = [...range.getClientRects()].filter(r => r.width > 1);
                // a wrapped item has a piece of text that starts below where another ends
                if (rects.some(a => rects.some(b => a.top >= b.bottom - 1))) wrapped = true;
                const box = el.getBoundingClientRect();
                lowestTop = Math.max(lowestTop, box.top);
                highestBottom = Math.min(highestBottom, box.bottom);
              }
              return wrapped || lowestTop >= highestBottom ? 2 : 1;
            }"""
        )
    finally:
        context.close()
    assert rows == 1, f"the admin header wraps onto {rows} lines at 1280 px"
