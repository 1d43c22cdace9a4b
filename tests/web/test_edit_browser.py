"""The demo's edit flow in a real headless browser: an invalidation shows without a reload.

Browsers keep what the demo sends them; with ``Cache-Control: public,
max-age=600`` Chromium showed the old title on the home page after an edit
until a reload (issue 12). The policies now send browsers ``no-cache``: they
ask again on each visit, and the shared cache answers.
"""

from __future__ import annotations

from playwright.sync_api import sync_playwright

from tests.web.browser import CHROMIUM, FLAGS
from tests.web.test_dashboard_browser import demo_url

__all__ = ["demo_url"]  # the fixture, shared with the dashboard's browser test


def test_an_edit_shows_on_the_home_page_reached_by_a_link(demo_url: str) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page()
            page.goto(f"{demo_url}/")
            link = page.locator("ul a[href^='/posts/']").first
            old_title, href = link.inner_text(), link.get_attribute("href")
            assert href is not None
            # Visit the pages twice, so that the browser and the shared cache both hold them.
            for _ in range(2):
                page.click(f"a[href='{href}']")
                assert page.locator("h1").inner_text() == old_title
                page.click("nav a[href='/']")
                assert old_title in page.locator("ul").inner_text()
            page.click(f"a[href='{href}']")
            page.click("a[href$='/edit']")
            new_title = "Edited in a real browser"
            page.fill("input[name=title]", new_title)
            page.click("button")
            assert page.locator("h1").inner_text() == new_title  # the post, after the redirect
            page.click("nav a[href='/']")  # home by link, no reload
            listing = page.locator("ul").inner_text()
            assert new_title in listing and old_title not in listing
            page.go_back()
            assert page.locator("h1").inner_text() == new_title
        finally:
            browser.close()
