"""The documents admin in real headless Chromium, against a real daphne process.

Staff read the document list on an ordinary laptop screen: it must fit one
without scrolling sideways, whatever the names, reasons and numbers in it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.browser import chromium, screenshot
from tests.live import LiveApp

pytestmark = pytest.mark.slow

PASSWORD = "staff-pass-123"
TIMEOUT = 30_000  # ms: generous for two busy cores

# Rows as wide as real ones get: long titles (one the file's name, as when none
# is given), file and owner names with no space to break at, a long failure
# reason, thousands of chunks, one still being embedded.
DOCUMENTS = """
from datetime import timedelta
from django.contrib.auth.models import User
from django.utils import timezone
from retrieval.models import Document

owner = User.objects.create_user("margaret.hamilton.guidance", password="unused-pass-123")
rows = [
    ("Quarterly operations review for the northern region, final draft",
     "quarterly_operations_review_northern_region_2025_final_v3_signed.pdf",
     "ready", 0, 0, 184, 4312, ""),
    ("Kite launch working files", "kite-launch-checklist.xlsx", "ready", 0, 0, None, 37, ""),
    ("SupplierContract_HollowayLogistics_2025-09-30_scan",
     "SupplierContract_HollowayLogistics_2025-09-30_scan.pdf",
     "failed", 0, 0, 12, 0,
     "Reading page 7 by OCR took longer than 120 seconds, so it was stopped. A sharper "
     "scan, or the contract as a text PDF, reads in seconds."),
    ("Minutes of the design review", "design-review-minutes.docx", "embedding", 1234, 5678,
     None, 0, ""),
    ("Notes", "notes.txt", "queued", 0, 0, None, 0, ""),
]
for n, (title, filename, status, done, total, pages, chunks, error) in enumerate(rows):
    document = Document.objects.create(
        owner=owner, title=title, filename=filename, file=f"documents/{n}.bin",
        size=(n + 1) * 734_003_211 // 7, sha256=f"{n:064x}", content_type="application/pdf",
        status=status, chunks_done=done, chunks_total=total, pages=pages, chunk_count=chunks,
        error=error,
    )
    Document.objects.filter(pk=document.pk).update(
        created=timezone.now() - timedelta(days=300 * n)
    )
"""


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Iterator[LiveApp]:
    live = LiveApp(tmp_path_factory.mktemp("admin-browser"))
    try:
        live.start()
        live.manage(
            "shell",
            "-c",
            "from django.contrib.auth.models import User; "
            f"User.objects.create_superuser('staff', password={PASSWORD!r})",
        )
        live.manage("shell", "-c", DOCUMENTS)
        yield live
    finally:
        live.stop()


def test_the_document_list_fits_a_1280_pixel_window_without_scrolling_sideways(app):
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(TIMEOUT)
        page = context.new_page()
        page.goto(app.url + "/admin/login/?next=/admin/retrieval/document/")
        page.get_by_label("Username").fill("staff")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/admin/retrieval/document/")
        # While a document is busy the list reloads itself every 3 s: hold it still.
        page.evaluate("window.stop()")

        table = page.locator("#result_list")
        assert table.locator("tbody tr").count() == 5
        widths = page.evaluate(
            """() => {
                const results = document.querySelector('.results');
                const table = document.querySelector('#result_list');
                return {
                    page: document.documentElement.scrollWidth,
                    results: results.scrollWidth,
                    visible: results.clientWidth,
                    table: table.scrollWidth,
                    table_visible: table.clientWidth,
                };
            }"""
        )
        screenshot(page, "admin-documents.png")

        assert widths["page"] <= 1280, widths
        assert widths["results"] <= widths["visible"], widths  # the table's box scrolls not
        assert widths["table"] <= widths["table_visible"] <= widths["visible"], widths
        first = table.locator("tbody tr", has_text="Quarterly operations review")
        assert first.get_by_title(
            "quarterly_operations_review_northern_region_2025_final_v3_signed.pdf"
        ).is_visible()
        failed = table.locator("tbody tr", has_text="SupplierContract_HollowayLogistics")
        assert "Reading page 7 by OCR took longer" in failed.inner_text()
        # The list's stylesheet is let through by the Content-Security-Policy.
        expect(failed.get_by_text("Failed", exact=True)).to_have_css("color", "rgb(207, 34, 46)")
        context.close()
