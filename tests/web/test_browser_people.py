"""The app as a person meets it (issue 15), in real Chromium against the real emulator: long
values, narrow screens, touch targets, messages in plain words with their details, logout
with several accounts, connecting another org, form validation, search, unsaved changes,
"Reconnect" with the email filled in, keyboard and focus, and axe-core on every screen.

Shares test_browser.py's one Chromium per module and its page factory. Screenshots go to
test-artifacts/ (gitignored).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from importlib.resources import files
from typing import Any

import httpx
import pytest

from ..support.web import LiveApp
from .test_browser import (  # noqa: F401  (chromium and open_page are fixtures)
    CHROMIUM,
    Console,
    Page,
    chromium,
    expect,
    open_page,
    popup_login,
    search,
    shot,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not at /usr/bin/chromium"),
]

OpenPage = Callable[..., tuple[Page, Console]]


@pytest.fixture
def pages(open_page: OpenPage) -> OpenPage:  # noqa: F811
    """test_browser.py's `open_page`: `pages(width=390)` → a page of a fresh context."""
    return open_page


#: axe-core as the axe-playwright-python dev dependency ships it (no CDN, tests only).
AXE = (files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")
WIDTHS = (320, 360, 390, 768, 1024, 1280, 1440)
#: A name with no space to break at: the worst case for a table cell.
LONG_NAME = "Wolfeschlegelsteinhausenbergerdorff" + "x" * 40
LONG_COMPANY = "The Extraordinarily Long-Named International Holding Company of Analytical Engines"


def page_login(page: Page, email: str) -> None:
    """Log in as a small screen does: the consent page in the same tab, then back to the app."""
    page.get_by_test_id("login").click()
    page.get_by_test_id("email").fill(email)
    page.get_by_test_id("accept").click()
    expect(page.get_by_test_id("user-email")).to_have_text(email)


def create_via_api(page: Page, module: str, record: dict[str, Any]) -> None:
    """POST a record the way the page does (its CSRF header), without the form."""
    status = page.evaluate(
        """async ([module, record]) => {
          const csrf = document.cookie.split("; ").find((c) => c.startsWith("zohoauth_csrf="));
          const r = await fetch("/api/records/" + module, {method: "POST",
            headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf.split("=")[1]},
            body: JSON.stringify({data: [record]})});
          return r.status;
        }""",
        [module, record],
    )
    assert status == 201, status


def inside(inner: dict[str, float], outer: dict[str, float], slack: float = 1.0) -> bool:
    return (
        inner["x"] >= outer["x"] - slack
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + slack
    )


def reachable(page: Page, selector: str) -> list[str]:
    """The elements matching `selector` that a click at their centre would not reach (clipped
    by a scrolling box, off screen or covered): empty when all are reachable."""
    result: list[str] = page.evaluate(
        """(selector) => Array.from(document.querySelectorAll(selector)).flatMap((el) => {
          el.scrollIntoView({block: "center", inline: "nearest"});
          const r = el.getBoundingClientRect();
          const x = r.left + r.width / 2, y = r.top + r.height / 2;
          const hit = document.elementFromPoint(x, y);
          return hit && (hit === el || el.contains(hit)) ? [] : [el.getAttribute("aria-label")];
        })""",
        selector,
    )
    return result


def no_sideways_scroll(page: Page) -> int:
    """How many px the page scrolls sideways (0: none)."""
    extra: int = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return extra


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations of WCAG 2.x A/AA (2.2 included) and its best
    practices on the page as it is now."""
    page.evaluate(AXE)
    found: list[str] = page.evaluate(
        """async () => {
          const tags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"];
          const r = await axe.run(document, {runOnly: {type: "tag", values: tags},
                                             resultTypes: ["violations"]});
          return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
            .map((v) => v.id + " (" + v.impact + "): " + v.help + " at " +
              v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", "));
        }"""
    )
    return found


# -- long values, narrow screens, touch -------------------------------------------------------


def test_long_names_wrap_and_the_actions_never_leave_the_card(pages: OpenPage) -> None:
    page, console = pages(width=1280)
    popup_login(page, "ava@zylker.com")
    expect(page.get_by_test_id("record-row").first).to_be_visible()
    create_via_api(
        page,
        "Leads",
        {"Last_Name": LONG_NAME, "Company": LONG_COMPANY, "Email": f"{'q' * 60}@example.com"},
    )
    page.reload()
    row = page.get_by_test_id("record-row").filter(has_text=LONG_NAME[:30])
    expect(row).to_have_count(1)
    shot(page, "15-long-names-1280")

    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 820})
        panel = page.locator("#records-panel").bounding_box()
        table = page.locator("#records-table").bounding_box()
        assert panel and table
        assert inside(table, panel), f"the table leaves its card at {width} px"
        for button in page.locator("[data-testid=record-row] .actions-cell button").all():
            box = button.bounding_box()
            assert box and inside(box, panel), f"a row action leaves the card at {width} px"
        assert reachable(page, "[data-testid=record-row] .actions-cell button") == []
        # The whole name is there to read: it wraps rather than being cut off.
        name = row.locator(".name-cell button")
        assert name.evaluate("el => el.scrollWidth <= el.clientWidth + 1")
        expect(name).to_have_text(LONG_NAME)
    shot(page, "15-long-names-390")
    assert console.unexpected() == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_sideways_scroll_from_320_to_1440_px_with_a_search_shown(
    pages: OpenPage, scheme: str
) -> None:
    page, console = pages(width=390, scheme=scheme)
    page_login(page, "ava@zylker.com")
    expect(page.get_by_test_id("record-row").first).to_be_visible()
    create_via_api(page, "Leads", {"Last_Name": LONG_NAME, "Company": LONG_COMPANY})
    search(page, LONG_NAME)
    expect(page.get_by_test_id("record-row")).to_have_count(1)
    clear = page.get_by_test_id("search-clear")
    expect(clear).to_be_visible()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        assert no_sideways_scroll(page) == 0, f"the page scrolls sideways at {width} px"
        panel = page.locator("#records-panel").bounding_box()
        assert panel
        for control in (clear, page.get_by_test_id("new-record"), page.get_by_test_id("search")):
            box = control.bounding_box()
            assert box and inside(box, panel), f"a toolbar control leaves the card at {width} px"
        if width in (320, 390):
            shot(page, f"16-search-toolbar-{width}-{scheme}")
    assert console.unexpected() == []


@pytest.mark.parametrize("width", [320, 1440])
def test_no_screen_scrolls_sideways_in_dark_mode(
    pages: OpenPage, admin: httpx.Client, width: int
) -> None:
    """Every screen, dark, at the narrowest and widest widths: the welcome page, the records
    with long values, the account menu, the form with a refused value, the delete
    confirmation, and the sign-in page's error states (which axe checks here too)."""
    page, console = pages(width=width, scheme="dark")
    expect(page.get_by_test_id("login")).to_be_visible()
    wide = {"welcome": no_sideways_scroll(page)}
    if width < 768:
        page_login(page, "ava@zylker.com")  # a small screen signs in in the same tab
    else:
        popup_login(page, "ava@zylker.com")
    expect(page.get_by_test_id("record-row").first).to_be_visible()
    create_via_api(page, "Leads", {"Last_Name": LONG_NAME, "Company": LONG_COMPANY})
    page.reload()
    expect(page.get_by_test_id("record-row").filter(has_text=LONG_NAME[:30])).to_have_count(1)
    wide["records"] = no_sideways_scroll(page)
    page.get_by_test_id("account-menu").click()
    page.get_by_test_id("connect-org").click()
    wide["account menu"] = no_sideways_scroll(page)
    page.keyboard.press("Escape")
    page.get_by_test_id("new-record").click()
    page.locator('[name="Email"]').fill("x" * 120 + "@example.com")  # over the 100 allowed
    page.get_by_test_id("create-record").click()
    expect(page.locator("#err-Email")).to_be_visible()
    wide["record form"] = no_sideways_scroll(page)
    shot(page, f"26-record-form-dark-{width}")
    page.get_by_test_id("record-form").get_by_role("button", name="Cancel").click()
    page.get_by_test_id("discard-changes").click()
    page.get_by_test_id("record-row").first.get_by_test_id("delete-record").click()
    wide["delete confirmation"] = no_sideways_scroll(page)
    page.get_by_role("button", name="Cancel").click()

    axe: dict[str, list[str]] = {}
    consoles = [console]
    for name, path in (
        ("sign-in expired", "/redirect.html?state=gone&code=1000.x.y"),
        ("sign-in denied", "/redirect.html?state=gone&error=access_denied"),
        ("nothing to finish", "/redirect.html"),
    ):
        redirect, redirect_console = pages(width=width, scheme="dark", path=path)
        consoles.append(redirect_console)
        expect(redirect.locator("#redirect-title")).not_to_be_empty()
        if redirect.locator("#redirect-details").is_visible():
            redirect.locator("#redirect-details summary").click()  # the details shown too
        wide[name] = no_sideways_scroll(redirect)
        axe[name] = serious_violations(redirect)
        shot(redirect, f"26-{name.replace(' ', '-')}-dark-{width}")
    assert {screen: px for screen, px in wide.items() if px} == {}
    assert {screen: v for screen, v in axe.items() if v} == {}
    assert [c.unexpected() for c in consoles] == [[]] * len(consoles)


def test_row_actions_are_44px_touch_targets_apart_on_small_screens(pages: OpenPage) -> None:
    page, console = pages(width=390, height=800)
    page_login(page, "ava@zylker.com")
    row = page.get_by_test_id("record-row").first
    expect(row).to_be_visible()
    edit = row.get_by_test_id("edit-record").bounding_box()
    delete = row.get_by_test_id("delete-record").bounding_box()
    assert edit and delete
    for box in (edit, delete):
        assert box["width"] >= 44 and box["height"] >= 44, box
    assert delete["x"] - (edit["x"] + edit["width"]) >= 8, "the targets touch each other"
    shot(page, "17-row-actions-390")
    assert console.unexpected() == []


# -- messages for people ----------------------------------------------------------------------


def test_a_zoho_failure_is_said_in_plain_words_with_retry_and_details(
    pages: OpenPage, admin: httpx.Client
) -> None:
    page, console = pages()
    popup_login(page, "ava@zylker.com")
    expect(page.get_by_test_id("record-row").first).to_be_visible()
    admin.post("/_emulator/faults", json={"target": "api", "error_rate": 1}).raise_for_status()
    ids: list[str] = []
    page.on(
        "response",
        lambda r: "/api/records/Contacts" in r.url and ids.append(r.headers["x-request-id"]),
    )
    page.get_by_role("tab", name="Contacts").click()
    banner = page.get_by_test_id("error")
    expect(banner).to_contain_text("Zoho CRM is having trouble")
    expect(banner).to_contain_text("Try again in a minute")
    said = banner.locator("p").first.inner_text()
    assert "HTTP" not in said and "INTERNAL_ERROR" not in said and "GET" not in said, said
    details = banner.get_by_test_id("error-details")
    expect(details.locator("pre")).to_be_hidden()  # folded until asked for
    details.locator("summary").click()
    expect(details.locator("pre")).to_contain_text("zoho_unavailable")
    assert ids
    expect(details.locator("pre")).to_contain_text(f"Request id: {ids[-1]}")
    shot(page, "18-zoho-failure-details")

    admin.post("/_emulator/faults", json={"target": "api", "error_rate": 0}).raise_for_status()
    page.get_by_test_id("retry").click()
    expect(page.get_by_test_id("error")).to_have_count(0)
    expect(page.get_by_test_id("record-row").first).to_be_visible()
    assert console.unexpected() == []


def test_a_stale_sign_in_says_what_happened_and_offers_to_start_again(
    pages: OpenPage, live: LiveApp
) -> None:
    # redirect.html with a state but no pending login (its cookie expired or was cleared).
    page, console = pages(path="/redirect.html?state=gone&code=1000.x.y")
    expect(page.locator("#redirect-title")).to_have_text("This sign-in has expired")
    message = page.locator("#redirect-message")
    expect(message).to_contain_text("start the login again")
    assert "pending" not in message.inner_text()
    expect(page.locator("#redirect-retry")).to_be_visible()
    page.locator("#redirect-details summary").click()
    expect(page.locator("#redirect-details-text")).to_contain_text("Request id: ")
    shot(page, "19-stale-sign-in")
    assert console.unexpected() == []


def test_a_sign_in_that_did_not_finish_offers_to_try_again(pages: OpenPage) -> None:
    page, console = pages()
    popup_login(page, "ava@zylker.com", decision="reject")
    banner = page.get_by_test_id("error")
    expect(banner).to_contain_text("Access was not granted")
    with page.expect_popup() as opened:
        banner.get_by_test_id("login-retry").click()  # the same sign-in again, one click
    again = opened.value
    again.get_by_test_id("email").fill("ava@zylker.com")
    again.get_by_test_id("accept").click()
    again.wait_for_event("close")
    expect(page.get_by_test_id("user-email")).to_have_text("ava@zylker.com")
    assert console.unexpected() == []


# -- several accounts, another org ------------------------------------------------------------


def test_connecting_another_org_explains_itself_and_says_each_failure(
    pages: OpenPage, live: LiveApp
) -> None:
    page, console = pages()
    popup_login(page, "ava@zylker.com")  # Ava works in two orgs, 80000001 and 80000002
    expect(page.get_by_test_id("record-row").first).to_be_visible()
    mine = page.request.get(f"{live.url}/api/me").json()
    other = ({"80000001", "80000002"} - {mine["org_id"]}).pop()
    page.get_by_test_id("account-menu").click()
    form = page.get_by_test_id("connect-org-form")
    expect(form).to_be_hidden()  # out of the way until asked for
    page.get_by_test_id("connect-org").click()
    expect(form).to_be_visible()
    expect(form).to_contain_text("Setup → Company Details")
    org_id = form.locator("#connect-org-id")
    assert org_id.get_attribute("placeholder") is None  # no demo data as a hint
    error = page.get_by_test_id("connect-org-error")

    org_id.fill("zylker")
    org_id.press("Enter")
    expect(error).to_contain_text("is not an org ID: an org ID is digits only")
    org_id.fill("80000003")  # Sunrise's org: not Ava's
    org_id.press("Enter")
    expect(error).to_contain_text("is not a member of org 80000003")
    org_id.fill(mine["org_id"])
    org_id.press("Enter")
    expect(error).to_contain_text("already connected for ava@zylker.com")
    shot(page, "20-connect-org-errors")
    org_id.fill(other)
    org_id.press("Enter")
    expect(page.get_by_test_id("toast")).to_contain_text("Connected")
    expect(page.locator("#user-org")).not_to_have_text(mine["org_name"])
    expect(page.get_by_test_id("user-email")).to_have_text("ava@zylker.com")
    assert console.unexpected() == []


def test_logout_with_several_accounts_says_who_left_and_who_is_active(
    pages: OpenPage, live: LiveApp
) -> None:
    page, console = pages()
    popup_login(page, "ava@zylker.com")
    page.get_by_test_id("account-menu").click()
    popup_login(page, "haru@sakura.jp", trigger="connect-another")
    expect(page.get_by_test_id("user-email")).to_have_text("haru@sakura.jp")
    page.get_by_test_id("account-menu").click()
    expect(page.get_by_test_id("logout")).to_have_text("Log out of haru@sakura.jp")
    page.get_by_test_id("logout").click()
    toast = page.get_by_test_id("toast")
    expect(toast).to_contain_text("Logged out haru@sakura.jp")
    expect(toast).to_contain_text("Now using ava@zylker.com")
    expect(page.get_by_test_id("user-email")).to_have_text("ava@zylker.com")

    # Connect Haru again, then leave both at once.
    page.get_by_test_id("account-menu").click()
    popup_login(page, "haru@sakura.jp", trigger="connect-another")
    page.get_by_test_id("account-menu").click()
    shot(page, "21-logout-all")
    page.get_by_test_id("logout-all").click()
    expect(page.get_by_test_id("login")).to_be_visible()
    expect(page.get_by_test_id("toast")).to_contain_text("haru@sakura.jp")
    expect(page.get_by_test_id("toast")).to_contain_text("ava@zylker.com")
    assert page.request.get(f"{live.url}/api/me").status == 401
    assert console.unexpected() == []


# -- forms, search, escape, reconnect, mobile sign-in -----------------------------------------


def test_form_problems_are_said_next_to_each_field_before_sending(pages: OpenPage) -> None:
    page, console = pages()
    popup_login(page, "ava@zylker.com")
    expect(page.get_by_test_id("record-row").first).to_be_visible()
    posts: list[str] = []
    page.on(
        "request", lambda r: r.method == "POST" and "/api/records/" in r.url and posts.append(r.url)
    )
    page.get_by_test_id("new-record").click()
    form = page.get_by_test_id("record-form")
    email = form.locator('[name="Email"]')
    email.fill("ada at example")
    email.press("Tab")  # leaving the field says what is wrong with it
    expect(form.locator("#err-Email")).to_have_text("Enter an email address like name@example.com.")
    expect(email).to_have_attribute("aria-invalid", "true")
    form.locator('[name="Last_Name"]').fill("L" * 81)  # the metadata's length is 80
    form.locator('[name="No_of_Employees"]').fill("99999999999")
    form.get_by_test_id("create-record").click()
    expect(form.locator("#err-Last_Name")).to_contain_text("at most 80 characters")
    expect(form.locator("#err-No_of_Employees")).to_contain_text("must be between")
    form.locator('[name="Last_Name"]').fill("")
    form.get_by_test_id("create-record").click()
    expect(form.locator("#err-Last_Name")).to_have_text("Last Name is required.")
    expect(form.locator('[name="Last_Name"]')).to_be_focused()
    shot(page, "22-form-field-errors")
    assert posts == []  # nothing was sent while the form had problems

    email.fill("ada@example.com")
    expect(form.locator("#err-Email")).to_be_hidden()  # corrected as it is typed
    form.locator('[name="Last_Name"]').fill(f"Lovelace{secrets.token_hex(2)}")
    form.locator('[name="No_of_Employees"]').fill("12")
    form.get_by_test_id("create-record").click()
    expect(form).to_be_hidden()
    assert len(posts) == 1
    assert console.unexpected() == []


def test_a_value_zoho_refuses_is_said_in_zohos_words_under_its_field(
    pages: OpenPage, live: LiveApp, admin: httpx.Client
) -> None:
    # What no check from field metadata can know: the org made Email unique ("Do not allow
    # duplicate values") and another lead already has the address.
    page, console = pages()
    popup_login(page, "ava@zylker.com")
    expect(page.get_by_test_id("record-row").first).to_be_visible()
    taken = f"taken.{secrets.token_hex(3)}@example.com"
    create_via_api(page, "Leads", {"Last_Name": "First Holder", "Email": taken})
    org_id = page.request.get(f"{live.url}/api/me").json()["org_id"]
    admin.post(
        "/_emulator/unique-fields",
        json={"org_id": org_id, "module": "Leads", "field": "Email"},
    ).raise_for_status()
    answers: list[int] = []
    page.on(
        "response",
        lambda r: (
            r.request.method == "POST" and "/api/records/" in r.url and answers.append(r.status)
        ),
    )
    page.get_by_test_id("new-record").click()
    form = page.get_by_test_id("record-form")
    email = form.locator('[name="Email"]')
    form.locator('[name="Last_Name"]').fill("Second Holder")
    form.locator('[name="Company"]').fill("Analytical Engines")
    email.fill(taken.upper())  # Zoho compares without case
    form.get_by_test_id("create-record").click()

    said = form.locator("#err-Email")
    expect(said).to_have_text(
        "Another lead already has this value, and this field allows no duplicates. "
        "Zoho CRM did not accept this value: duplicate data."
    )
    assert answers == [422]  # Zoho refused it, not the page
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_be_focused()
    expect(page.locator("#form-error")).to_have_text(
        "Zoho CRM did not accept Email: see the note under it. Your input is still in the form."
    )
    expect(form).to_be_visible()  # the form stays open with what the user typed
    expect(form.locator('[name="Last_Name"]')).to_have_value("Second Holder")
    expect(form.locator('[name="Company"]')).to_have_value("Analytical Engines")
    expect(email).to_have_value(taken.upper())
    email.press("Tab")  # leaving the field does not forget what Zoho said about it
    expect(said).to_contain_text("duplicate data")
    shot(page, "25-zoho-refused-a-value")

    email.fill(f"second.{taken}")  # a corrected value clears the note as it is typed
    expect(said).to_be_hidden()
    form.get_by_test_id("create-record").click()
    expect(form).to_be_hidden()
    assert answers == [422, 201]
    assert console.unexpected() == []


def test_emptying_the_search_box_shows_every_record_again(pages: OpenPage) -> None:
    page, console = pages()
    popup_login(page, "ava@zylker.com")
    rows = page.get_by_test_id("record-row")
    expect(rows).to_have_count(20)
    first = rows.first.locator(".name-cell").inner_text()
    box = page.get_by_test_id("search")
    search(page, first)
    expect(page.get_by_test_id("search-clear")).to_be_visible()
    expect(rows).not_to_have_count(20)
    box.fill("")  # deleting the text
    expect(rows).to_have_count(20)
    expect(page.get_by_test_id("search-clear")).to_be_hidden()

    search(page, first)
    expect(rows).not_to_have_count(20)
    box.press("Escape")  # Chromium empties a search box on Escape (its "search" event)
    expect(box).to_have_value("")
    expect(rows).to_have_count(20)
    # One clear control: Chromium draws no × of its own at the box's right end beside "Clear"
    # (where it would be, a click only places the caret).
    search(page, first)
    size = box.bounding_box()
    assert size
    for x in range(int(size["width"]) - 48, int(size["width"]) - 4, 4):
        box.click(position={"x": x, "y": size["height"] / 2})
        assert box.input_value() == first, f"a click {x} px into the box cleared it"
    assert console.unexpected() == []


def test_escape_with_unsaved_changes_asks_before_discarding(pages: OpenPage) -> None:
    page, console = pages()
    popup_login(page, "ava@zylker.com")
    expect(page.get_by_test_id("record-row").first).to_be_visible()
    page.get_by_test_id("new-record").click()
    form = page.get_by_test_id("record-form")
    form.locator('[name="Last_Name"]').fill("Half-typed")
    page.keyboard.press("Escape")
    ask = page.get_by_test_id("discard-dialog")
    expect(ask).to_be_visible()
    expect(form).to_be_visible()
    shot(page, "23-discard-changes")
    page.get_by_test_id("keep-editing").click()
    expect(ask).to_be_hidden()
    expect(form.locator('[name="Last_Name"]')).to_have_value("Half-typed")
    page.get_by_test_id("record-form").get_by_role("button", name="Cancel").click()
    expect(ask).to_be_visible()
    page.get_by_test_id("discard-changes").click()
    expect(form).to_be_hidden()
    assert console.unexpected() == []


def test_reconnect_fills_in_the_account_email_at_zoho(pages: OpenPage, admin: httpx.Client) -> None:
    page, console = pages()
    popup_login(page, "ava@zylker.com")
    expect(page.get_by_test_id("record-row").first).to_be_visible()
    admin.post("/_emulator/revoke-user", json={"email": "ava@zylker.com"}).raise_for_status()
    page.get_by_role("tab", name="Contacts").click()
    with page.expect_popup() as opened:
        page.get_by_test_id("reconnect").click()
    popup = opened.value
    assert "login_hint=ava%40zylker.com" in popup.url
    expect(popup.get_by_test_id("email")).to_have_value("ava@zylker.com")
    popup.get_by_test_id("accept").click()
    popup.wait_for_event("close")
    expect(page.get_by_test_id("error")).to_have_count(0)
    assert console.unexpected() == []


def test_a_full_page_login_on_a_phone_says_signed_in_like_the_popup(pages: OpenPage) -> None:
    page, console = pages(width=390, height=800)
    page.get_by_test_id("login").click()
    page.get_by_test_id("email").fill("dev@sunrise.in")
    page.get_by_test_id("accept").click()
    expect(page.get_by_test_id("toast")).to_have_text("Signed in as dev@sunrise.in")
    page.reload()  # said once, not on every visit
    expect(page.get_by_test_id("user-email")).to_have_text("dev@sunrise.in")
    expect(page.get_by_test_id("toast")).to_be_hidden()
    assert console.unexpected() == []


# -- keyboard, focus, axe ---------------------------------------------------------------------


def skip_lands_on_visible_content(page: Page, first_tab: bool = True) -> None:
    """The first Tab of a fresh page reaches "Skip to content" (unless `first_tab` is False:
    the page moved focus itself), which is visible then; Enter moves focus to visible content."""
    skip = page.get_by_role("link", name="Skip to content")
    if first_tab:
        page.keyboard.press("Tab")
    else:
        skip.focus()
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    landed = page.evaluate(
        """() => {
          const el = document.activeElement;
          if (!el || el === document.body || el.closest("[hidden]")) return null;
          const r = el.getBoundingClientRect();
          return r.width > 0 && r.height > 0 && r.top < innerHeight && r.bottom > 0 ? el.id : null;
        }"""
    )
    assert landed, "Skip to content did not move focus to visible content"


def test_skip_to_content_lands_on_visible_content_on_every_page(
    pages: OpenPage, live: LiveApp
) -> None:
    welcome, console = pages()
    expect(welcome.get_by_test_id("login")).to_be_visible()
    skip_lands_on_visible_content(welcome)
    popup_login(welcome, "ava@zylker.com")
    app = welcome.context.new_page()  # the same browser, logged in: the records page
    app.goto(live.url + "/")
    expect(app.get_by_test_id("record-row").first).to_be_visible()
    skip_lands_on_visible_content(app)
    redirect, redirect_console = pages(path="/redirect.html")
    expect(redirect.locator("#redirect-title")).to_have_text("Nothing to finish here")
    skip_lands_on_visible_content(redirect, first_tab=False)  # it focuses "Try again" itself
    assert console.unexpected() == [] and redirect_console.unexpected() == []


def luminance(rgb: tuple[float, ...]) -> float:
    def channel(c: float) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def rgb(css: str) -> tuple[float, ...]:
    return tuple(float(n) for n in re.findall(r"[\d.]+", css)[:3])


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_focus_rings_are_clearly_visible(pages: OpenPage, scheme: str) -> None:
    page, console = pages(scheme=scheme)
    popup_login(page, "ava@zylker.com")
    expect(page.get_by_test_id("record-row").first).to_be_visible()
    page.locator("body").click(position={"x": 5, "y": 400})
    rings: list[dict[str, Any]] = []
    for _ in range(12):  # the top bar, the tabs, the toolbar, the first rows
        page.keyboard.press("Tab")
        rings.append(
            page.evaluate(
                """() => {
                  const el = document.activeElement, s = getComputedStyle(el);
                  let bg = null;
                  for (let n = el.parentElement; n && !bg; n = n.parentElement) {
                    const c = getComputedStyle(n).backgroundColor;
                    if (c && c !== "rgba(0, 0, 0, 0)" && c !== "transparent") bg = c;
                  }
                  return {what: el.id || el.textContent.trim().slice(0, 20), style: s.outlineStyle,
                          width: parseFloat(s.outlineWidth), color: s.outlineColor,
                          bg: bg || getComputedStyle(document.body).backgroundColor};
                }"""
            )
        )
    for ring in rings:
        assert ring["style"] != "none" and ring["width"] >= 2, ring
        ratio = contrast(rgb(ring["color"]), rgb(ring["bg"]))
        assert ratio >= 3, f"focus ring of {ring['what']!r}: {ratio:.2f}:1 on {ring['bg']}"
    shot(page, f"24-focus-ring-{scheme}")
    assert console.unexpected() == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_serious_violations_on_any_screen(
    pages: OpenPage, live: LiveApp, scheme: str
) -> None:
    page, console = pages(scheme=scheme)
    expect(page.get_by_test_id("login")).to_be_visible()
    found = {"welcome": serious_violations(page)}
    popup_login(page, "ava@zylker.com")
    expect(page.get_by_test_id("record-row").first).to_be_visible()
    found["records"] = serious_violations(page)
    search(page, "zzzz-nothing")
    expect(page.locator("#empty-state")).to_be_visible()
    found["empty search"] = serious_violations(page)
    page.get_by_test_id("search-clear").click()
    page.get_by_test_id("account-menu").click()
    page.get_by_test_id("connect-org").click()
    found["account menu"] = serious_violations(page)
    page.keyboard.press("Escape")
    page.get_by_test_id("new-record").click()
    page.get_by_test_id("create-record").click()  # with its field errors showing
    expect(page.locator("#err-Last_Name")).to_be_visible()
    found["record form"] = serious_violations(page)
    page.get_by_test_id("record-form").get_by_role("button", name="Cancel").click()
    page.get_by_test_id("record-row").first.get_by_test_id("delete-record").click()
    found["delete confirmation"] = serious_violations(page)
    page.get_by_role("button", name="Cancel").click()
    small, small_console = pages(width=390, scheme=scheme)
    page_login(small, "clara@brightwave.eu")
    expect(small.get_by_test_id("record-row").first).to_be_visible()
    found["records at 390 px"] = serious_violations(small)
    redirect, redirect_console = pages(path="/redirect.html?state=x&code=y", scheme=scheme)
    expect(redirect.get_by_test_id("error")).to_be_visible()
    found["sign-in failed"] = serious_violations(redirect)
    assert {screen: v for screen, v in found.items() if v} == {}
    assert console.unexpected() == []
    assert small_console.unexpected() == [] and redirect_console.unexpected() == []
