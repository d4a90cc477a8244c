"""The pages in real Chromium (Playwright): login as popup and full page, records, reconnect.

Each user gets a browser context of their own (separate cookies), as two people on two machines
would. Screenshots of the main screens go to test-artifacts/ (gitignored; CI keeps them).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from zohoauth.web.session import LOGIN_COOKIE

from ..support.web import LiveApp
from ..support.zoho import emulator_stats
from .test_static import SCRIPTS

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not at /usr/bin/chromium"),
]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
Page = Any  # playwright.sync_api.Page, kept loose so the module imports without Playwright


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


class Console:
    """Console errors and uncaught exceptions of every page of a context (popups included)."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def watch(self, page: Page) -> None:
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))

    def unexpected(self) -> list[str]:
        """Errors other than the browser's note on an HTTP error answer we asked for."""
        return [e for e in self.errors if "Failed to load resource" not in e]


@pytest.fixture
def open_page(chromium: Any, live: LiveApp) -> Iterator[Callable[..., tuple[Page, Console]]]:
    """`open_page(width=1280)` → a page of a fresh context (its own cookies) at the app (or
    at `app`), or at `path` of it (None: a blank page, for watching the network from the
    first request)."""
    contexts: list[Any] = []

    def make(
        width: int = 1280,
        height: int = 820,
        scheme: str = "light",
        path: str | None = "/",
        app: LiveApp | None = None,
    ) -> tuple[Page, Console]:
        context = chromium.new_context(
            viewport={"width": width, "height": height}, color_scheme=scheme
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        console = Console()
        context.on("page", console.watch)
        page = context.new_page()
        if path is not None:
            page.goto((app or live).url + path)
        return page, console

    yield make
    for context in contexts:
        context.close()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


def popup_login(page: Page, email: str, decision: str = "accept", trigger: str = "login") -> None:
    """Click `trigger`, answer the emulator's consent page in the popup; it closes itself."""
    with page.expect_popup() as opened:
        page.get_by_test_id(trigger).click()
    popup = opened.value
    popup.get_by_test_id("email").fill(email)
    popup.get_by_test_id(decision).click()
    popup.wait_for_event("close")


def create_lead(page: Page, last_name: str, company: str) -> None:
    page.get_by_test_id("new-record").click()
    form = page.get_by_test_id("record-form")
    expect(form).to_be_visible()
    expect(form.locator('[name="Last_Name"]')).to_have_attribute("required", "")
    form.locator('[name="Last_Name"]').fill(last_name)
    form.locator('[name="Company"]').fill(company)
    form.get_by_test_id("create-record").click()
    expect(form).to_be_hidden()
    expect(page.get_by_test_id("record-row").filter(has_text=last_name)).to_have_count(1)


def search(page: Page, word: str) -> None:
    page.get_by_test_id("search").fill(word)
    page.get_by_test_id("search").press("Enter")


def test_two_users_in_different_dcs_create_edit_search_and_delete_leads(
    open_page: Callable[..., tuple[Page, Console]],
) -> None:
    ava, ava_console = open_page()
    clara, clara_console = open_page()
    expect(ava.get_by_test_id("login")).to_be_visible()
    shot(ava, "01-welcome")

    popup_login(ava, "ava@zylker.com")
    popup_login(clara, "clara@brightwave.eu")
    expect(ava.get_by_test_id("user-email")).to_have_text("ava@zylker.com")
    expect(ava.locator("#user-dc")).to_have_text("US")
    expect(clara.get_by_test_id("user-email")).to_have_text("clara@brightwave.eu")
    expect(clara.locator("#user-dc")).to_have_text("EU")
    expect(clara.locator("#user-org")).to_have_text("Brightwave GmbH")
    expect(ava.get_by_test_id("record-row")).to_have_count(20)
    shot(ava, "02-records")
    ava.get_by_test_id("load-more").click()  # the next page, by Zoho's page_token
    expect(ava.get_by_test_id("record-row")).to_have_count(30)  # the seed's 30 leads
    expect(ava.get_by_test_id("load-more")).to_be_hidden()
    ids = ava.get_by_test_id("record-row").evaluate_all("rows => rows.map(r => r.dataset.id)")
    assert len(set(ids)) == 30

    mine = f"Lovelace{secrets.token_hex(3)}"
    theirs = f"Hopper{secrets.token_hex(3)}"
    ava.get_by_test_id("new-record").click()
    expect(ava.get_by_test_id("record-form")).to_be_visible()
    shot(ava, "03-new-lead-form")
    ava.keyboard.press("Escape")  # the dialog closes from the keyboard
    expect(ava.get_by_test_id("record-form")).to_be_hidden()
    create_lead(ava, mine, "Analytical Engines")
    create_lead(clara, theirs, "Compilers GmbH")

    # Edit in the same form.
    row = ava.get_by_test_id("record-row").filter(has_text=mine)
    row.get_by_test_id("edit-record").click()
    form = ava.get_by_test_id("record-form")
    expect(form.locator('[name="Company"]')).to_have_value("Analytical Engines")
    form.locator('[name="Company"]').fill("Difference Engines")
    form.get_by_test_id("create-record").click()
    expect(form).to_be_hidden()
    expect(ava.get_by_test_id("record-row").filter(has_text=mine)).to_contain_text(
        "Difference Engines"
    )

    # Search finds one's own lead and never the other org's.
    search(ava, mine)
    expect(ava.get_by_test_id("record-row")).to_have_count(1)
    expect(ava.get_by_test_id("record-row")).to_contain_text(mine)
    search(clara, mine)
    expect(clara.locator("#empty-state")).to_be_visible()
    expect(clara.get_by_test_id("record-row")).to_have_count(0)
    shot(clara, "04-search-empty")
    search(ava, theirs)
    expect(ava.locator("#empty-state")).to_be_visible()

    # Delete behind a confirmation that names the record.
    search(ava, mine)
    ava.get_by_test_id("record-row").filter(has_text=mine).get_by_test_id("delete-record").click()
    expect(ava.locator("#delete-text")).to_contain_text(mine)
    shot(ava, "05-delete-confirmation")
    ava.get_by_test_id("confirm-delete").click()
    expect(ava.get_by_test_id("toast")).to_contain_text("Deleted")
    expect(ava.get_by_test_id("record-row").filter(has_text=mine)).to_have_count(0)
    # Clara's lead is still there for her.
    search(clara, theirs)
    expect(clara.get_by_test_id("record-row")).to_have_count(1)

    assert ava_console.errors == []
    assert clara_console.errors == []


def test_full_page_login_on_a_small_screen_and_keyboard_use(
    open_page: Callable[..., tuple[Page, Console]],
) -> None:
    page, console = open_page(width=360, height=740, scheme="dark")
    page.get_by_test_id("login").click()  # narrow screens log in as a full page, no popup
    page.get_by_test_id("email").fill("dev@sunrise.in")
    page.get_by_test_id("accept").click()
    expect(page.get_by_test_id("user-email")).to_have_text("dev@sunrise.in")
    assert page.url.rstrip("/").endswith(page.url.split("/")[2])  # back on /, no code in it
    assert "code=" not in page.url
    expect(page.get_by_test_id("record-row").first).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, "the page scrolls sideways at 360 px"
    shot(page, "06-records-360px-dark")

    # Module tabs by keyboard: focus the selected tab, arrow to the next.
    page.locator("#tab-Leads").focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#tab-Contacts")).to_be_focused()
    expect(page.locator("#tab-Contacts")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#records-head")).to_contain_text("Name")
    assert console.errors == []


def test_reject_at_zoho_shows_a_clear_message(
    open_page: Callable[..., tuple[Page, Console]],
) -> None:
    page, console = open_page()
    popup_login(page, "ava@zylker.com", decision="reject")
    banner = page.get_by_test_id("error")
    expect(banner).to_contain_text("Access was not granted")
    expect(banner).to_contain_text("nothing was shared")
    expect(page.get_by_test_id("login")).to_be_visible()
    shot(page, "07-rejected-popup")

    small, small_console = open_page(width=360, height=740)
    small.get_by_test_id("login").click()
    small.get_by_test_id("reject").click()
    expect(small.get_by_test_id("error")).to_contain_text("You chose not to give zohoauth access")
    assert "code=" not in small.url and "error=" not in small.url
    shot(small, "08-rejected-full-page")
    assert console.unexpected() == []
    assert small_console.unexpected() == []


def test_a_revoked_user_is_asked_to_reconnect_and_reconnecting_works(
    open_page: Callable[..., tuple[Page, Console]], admin: httpx.Client
) -> None:
    page, console = open_page()
    popup_login(page, "ava@zylker.com")
    expect(page.get_by_test_id("record-row").first).to_be_visible()
    admin.post("/_emulator/revoke-user", json={"email": "ava@zylker.com"}).raise_for_status()

    page.get_by_role("tab", name="Contacts").click()
    banner = page.get_by_test_id("error")
    expect(banner).to_contain_text("Your Zoho session has expired")
    expect(page.locator("#empty-title")).to_contain_text("Couldn’t load contacts")
    expect(page.get_by_test_id("reconnect")).to_be_visible()
    shot(page, "09-reconnect-banner")

    popup_login(page, "ava@zylker.com", trigger="reconnect")
    expect(page.get_by_test_id("error")).to_have_count(0)
    expect(page.get_by_test_id("record-row").first).to_be_visible()
    expect(page.get_by_role("tab", name="Contacts")).to_have_attribute("aria-selected", "true")
    assert console.unexpected() == []


def test_several_accounts_switch_and_logout_ends_the_session(
    open_page: Callable[..., tuple[Page, Console]], live: LiveApp, admin: httpx.Client
) -> None:
    page, console = open_page()
    popup_login(page, "ava@zylker.com")
    expect(page.get_by_test_id("user-email")).to_have_text("ava@zylker.com")

    page.get_by_test_id("account-menu").click()
    popup_login(page, "haru@sakura.jp", trigger="connect-another")
    expect(page.get_by_test_id("user-email")).to_have_text("haru@sakura.jp")
    expect(page.locator("#user-dc")).to_have_text("JP")

    page.get_by_test_id("account-menu").click()
    other = page.get_by_test_id("switch-account")
    expect(other).to_have_count(1)
    expect(other).to_contain_text("ava@zylker.com")
    shot(page, "10-account-menu")
    other.click()
    expect(page.get_by_test_id("user-email")).to_have_text("ava@zylker.com")

    # Log out with revoke: Ava's grant ends at Zoho and Haru becomes active.
    page.get_by_test_id("account-menu").click()
    page.get_by_test_id("revoke").check()
    page.get_by_test_id("logout").click()
    expect(page.get_by_test_id("user-email")).to_have_text("haru@sakura.jp")
    assert emulator_stats(admin.base_url)["token_requests"]["revoke"] == 1

    page.get_by_test_id("account-menu").click()
    page.get_by_test_id("logout").click()
    expect(page.get_by_test_id("login")).to_be_visible()
    page.reload()
    expect(page.get_by_test_id("login")).to_be_visible()
    assert page.request.get(f"{live.url}/api/me").status == 401
    assert console.errors == []


def scripts_loaded(page: Page, url: str) -> dict[str, str]:
    """Go to `url` (from a blank page of a fresh context, so nothing comes from a cache) and
    return the scripts it loaded: URL path → Content-Type."""
    loaded: dict[str, str] = {}

    def seen(response: Any) -> None:
        if response.request.resource_type == "script":
            loaded[urlsplit(response.url).path] = response.headers.get("content-type", "")

    page.on("response", seen)
    page.goto(url)
    return loaded


def test_redirect_html_loads_no_records_code(
    open_page: Callable[..., tuple[Page, Console]], live: LiveApp
) -> None:
    page, console = open_page(path=None)
    loaded = scripts_loaded(page, live.url + "/redirect.html")
    expect(page.locator("#redirect-title")).to_have_text("Nothing to finish here")
    assert "/js/redirect.js" in loaded
    index_only = {"/script.js", "/js/records.js", "/js/dialogs.js", "/js/catalog.js"}
    assert loaded.keys().isdisjoint(index_only), sorted(loaded)

    # The same watch on index.html does see the records code: the check above can fail.
    index, index_console = open_page(path=None)
    on_index = scripts_loaded(index, live.url + "/")
    expect(index.get_by_test_id("login")).to_be_visible()
    assert index_only <= on_index.keys()
    for kind in [*loaded.values(), *on_index.values()]:
        assert kind.startswith("text/javascript")  # what module scripts must be served as
    assert console.errors == [] and index_console.errors == []


def test_every_script_loads_as_a_module_in_chromium(
    open_page: Callable[..., tuple[Page, Console]], live: LiveApp
) -> None:
    # Import each module into a page of the app (its CSP applies): a syntax error, a missing
    # export or a bad import path rejects the import. redirect.html opened without a login only
    # says so, and index.html's entry does nothing on another page.
    page, console = open_page(path="/redirect.html")
    expect(page.locator("#redirect-title")).to_have_text("Nothing to finish here")
    failures = page.evaluate(
        """async (urls) => {
          const failed = [];
          for (const url of urls) {
            try { await import(url); } catch (err) { failed.push(url + ": " + err); }
          }
          return failed;
        }""",
        sorted(SCRIPTS),
    )
    assert failures == []
    assert console.errors == []


def test_the_tabs_and_tables_are_what_api_modules_lists(
    open_page: Callable[..., tuple[Page, Console]], live: LiveApp
) -> None:
    page, console = open_page()
    asked: list[str] = []
    page.on("request", lambda r: "/api/records/" in r.url and asked.append(r.url))
    popup_login(page, "clara@brightwave.eu")
    expect(page.get_by_test_id("record-row").first).to_be_visible()
    listed = page.request.get(f"{live.url}/api/modules").json()
    modules = listed["modules"]
    assert modules, "the emulator's org offers modules"

    tabs = page.get_by_test_id("module-tab")
    expect(tabs).to_have_text([m["plural_label"] for m in modules])
    assert tabs.evaluate_all("tabs => tabs.map(t => t.dataset.module)") == [
        m["api_name"] for m in modules
    ]
    for module in modules:
        name = module["api_name"]
        page.get_by_role("tab", name=module["plural_label"]).click()
        expect(page.get_by_role("tab", name=module["plural_label"])).to_have_attribute(
            "aria-selected", "true"
        )
        expect(page.get_by_test_id("new-record")).to_have_text(f"New {module['singular_label']}")
        expect(page.get_by_test_id("record-row").first).to_be_visible()
        columns, names = listed["default_fields"][name], listed["name_fields"][name]
        # One name column, the module's other main columns, and the actions column.
        others = [c for c in columns if c not in names]
        expect(page.locator("#records-head th")).to_have_count(1 + len(others) + 1)
        reads = [u for u in asked if urlsplit(u).path == f"/api/records/{name}"]
        assert reads, f"no read of {name}"
        fields = parse_qs(urlsplit(reads[-1]).query)["fields"][0].split(",")
        assert set(fields) == set(columns) | set(names)
    assert console.errors == []


def test_without_the_module_list_the_page_says_why_and_reconnect_brings_it(
    open_page: Callable[..., tuple[Page, Console]], admin: httpx.Client
) -> None:
    page, console = open_page()
    popup_login(page, "ava@zylker.com")
    expect(page.get_by_test_id("module-tab")).to_have_count(4)
    admin.post("/_emulator/revoke-user", json={"email": "ava@zylker.com"}).raise_for_status()

    page.reload()  # GET /api/modules now fails: Zoho no longer accepts Ava's token
    expect(page.get_by_test_id("error")).to_contain_text("Your Zoho session has expired")
    expect(page.locator("#empty-title")).to_have_text("Couldn’t load your CRM modules")
    expect(page.get_by_test_id("module-tab")).to_have_count(0)

    popup_login(page, "ava@zylker.com", trigger="reconnect")
    expect(page.get_by_test_id("error")).to_have_count(0)
    expect(page.get_by_test_id("module-tab")).to_have_count(4)
    expect(page.get_by_test_id("record-row").first).to_be_visible()
    assert console.unexpected() == []


# -- data centers: the UK, China's own sign-in, an app for some DCs, Zoho's throttle ----------


@pytest.mark.parametrize(
    ("email", "dc"),
    [("ella@koalafreight.au", "AU"), ("noah@maple.ca", "CA"), ("omar@oasis.sa", "SA")],
)
def test_users_of_the_other_multi_dc_data_centers_sign_in_and_see_their_records(
    open_page: Callable[..., tuple[Page, Console]], email: str, dc: str
) -> None:
    """With the tests above (US, EU, IN, JP, UK, China), a user of each of Zoho's nine DCs
    signs in through the browser and reads their own DC's records."""
    page, console = open_page()
    popup_login(page, email)  # Multi-DC: Zoho's US sign-in redirects them to their own DC
    expect(page.get_by_test_id("user-email")).to_have_text(email)
    expect(page.locator("#user-dc")).to_have_text(dc)
    expect(page.get_by_test_id("record-row").first).to_be_visible()
    assert console.unexpected() == []


def test_a_uk_user_and_a_china_user_each_sign_in_where_zoho_signs_them_in(
    open_page: Callable[..., tuple[Page, Console]], admin: httpx.Client
) -> None:
    isla, isla_console = open_page()
    expect(isla.locator("#dc-list")).to_contain_text("UK")
    expect(isla.get_by_test_id("login-china")).to_have_text("Zoho China (zoho.com.cn)")
    shot(isla, "11-welcome-with-china")
    popup_login(isla, "isla@thamesledger.co.uk")  # the main button: Zoho's Multi-DC sign-in
    expect(isla.get_by_test_id("user-email")).to_have_text("isla@thamesledger.co.uk")
    expect(isla.locator("#user-dc")).to_have_text("UK")
    expect(isla.get_by_test_id("record-row").first).to_be_visible()

    li, li_console = open_page()
    with li.expect_popup() as opened:
        li.get_by_test_id("login-china").click()
    popup = opened.value
    assert "/cn/accounts/oauth/v2/auth" in popup.url  # China's own accounts server
    popup.get_by_test_id("email").fill("li@dragongate.cn")
    popup.get_by_test_id("accept").click()
    popup.wait_for_event("close")
    expect(li.get_by_test_id("user-email")).to_have_text("li@dragongate.cn")
    expect(li.locator("#user-dc")).to_have_text("CN")
    expect(li.get_by_test_id("record-row").first).to_be_visible()
    shot(li, "11-china-user-records")

    # Reconnecting a China user goes back to China's sign-in, not the Multi-DC one.
    admin.post("/_emulator/revoke-user", json={"email": "li@dragongate.cn"}).raise_for_status()
    li.get_by_role("tab", name="Contacts").click()
    expect(li.get_by_test_id("reconnect")).to_be_visible()
    with li.expect_popup() as opened:
        li.get_by_test_id("reconnect").click()
    again = opened.value
    assert "/cn/accounts/oauth/v2/auth" in again.url
    again.get_by_test_id("email").fill("li@dragongate.cn")
    again.get_by_test_id("accept").click()
    again.wait_for_event("close")
    expect(li.get_by_test_id("error")).to_have_count(0)
    expect(li.get_by_test_id("record-row").first).to_be_visible()
    assert isla_console.unexpected() == [] and li_console.unexpected() == []


@pytest.fixture
def some_dcs(emulator: Any, tmp_path: Path) -> Iterator[LiveApp]:
    """The app with ZOHOAUTH_DATA_CENTERS=us,eu,uk."""
    store = f"sqlite:///{tmp_path / 'some.db'}"
    with LiveApp(emulator.url, store, data_centers=frozenset({"us", "eu", "uk"})) as app:
        yield app


def test_an_app_for_some_dcs_names_them_and_refuses_others_in_plain_words(
    open_page: Callable[..., tuple[Page, Console]], some_dcs: LiveApp, admin: httpx.Client
) -> None:
    page, console = open_page(app=some_dcs)
    expect(page.locator("#dc-list")).to_have_text("US · EU · UK")
    expect(page.get_by_test_id("login-china")).to_be_hidden()
    popup_login(page, "dev@sunrise.in")
    banner = page.get_by_test_id("error")
    expect(banner).to_contain_text("This app does not accept your Zoho account")
    expect(banner).to_contain_text("does not accept Zoho accounts from India (IN)")
    shot(page, "12-dc-not-enabled")

    small, small_console = open_page(width=360, height=740, app=some_dcs)
    small.get_by_test_id("login").click()  # full page: redirect.html says it itself
    small.get_by_test_id("email").fill("dev@sunrise.in")
    small.get_by_test_id("accept").click()
    expect(small.locator("#redirect-title")).to_have_text(
        "This app does not accept your Zoho account"
    )
    expect(small.get_by_test_id("error")).to_contain_text(
        "This app does not accept Zoho accounts from India (IN)"
    )

    # Zoho's limit on new sign-ins: the second login of the same user is throttled.
    admin.post(
        "/_emulator/config", json={"grant_limits": True, "max_new_refresh_tokens_per_window": 1}
    ).raise_for_status()
    popup_login(page, "clara@brightwave.eu")
    expect(page.get_by_test_id("user-email")).to_have_text("clara@brightwave.eu")
    small.goto(some_dcs.url + "/login")
    small.get_by_test_id("email").fill("clara@brightwave.eu")
    small.get_by_test_id("accept").click()
    expect(small.locator("#redirect-title")).to_have_text("Zoho is limiting sign-ins")
    expect(small.get_by_test_id("error")).to_contain_text(
        "Zoho is limiting sign-ins; try again in a few minutes."
    )
    shot(small, "13-sign-ins-throttled")
    assert console.unexpected() == [] and small_console.unexpected() == []


def test_a_login_cookie_tossed_into_another_browser_does_not_log_it_in(
    open_page: Callable[..., tuple[Page, Console]], live: LiveApp
) -> None:
    """Login CSRF by cookie tossing, in a real browser: the attacker consents with their own
    Zoho account, plants their genuine pending-login cookie in the victim's browser (as a
    sibling subdomain or a plain-http man in the middle could) and sends the victim to
    redirect.html with their code and state. The victim's browser stays logged out."""
    attacker = live.browser()
    try:
        params = attacker.callback_params("ava@zylker.com")
        pending = attacker.cookies.get(LOGIN_COOKIE, path="/api/auth")
    finally:
        attacker.close()
    assert pending is not None
    page, console = open_page()  # the victim visited the app once: it has its own session
    page.context.add_cookies(
        [{"name": LOGIN_COOKIE, "value": pending, "domain": "127.0.0.1", "path": "/api/auth"}]
    )
    query = {**params, "accounts-server": params.pop("accounts_server")}
    page.goto(f"{live.url}/redirect.html?{urlencode(query)}")
    expect(page.get_by_test_id("error")).to_contain_text("start the login again")
    shot(page, "11-tossed-login-cookie")
    assert page.request.get(f"{live.url}/api/me").status == 401
    assert console.unexpected() == []


def test_over_https_the_pages_work_with_host_prefixed_cookies(
    chromium: Any, live_tls: LiveApp
) -> None:
    """Chromium enforces the `__Host-` rules (Secure, Path=/, no Domain) and drops a cookie
    that breaks them: a whole login, a record created and a logout prove ours keep them."""
    context = chromium.new_context(ignore_https_errors=True)  # the test's own certificate
    context.set_default_timeout(15_000)
    try:
        console = Console()
        context.on("page", console.watch)
        page = context.new_page()
        page.goto(live_tls.url + "/")
        popup_login(page, "clara@brightwave.eu")
        expect(page.get_by_test_id("user-email")).to_have_text("clara@brightwave.eu")
        names = {c["name"] for c in context.cookies(live_tls.url)}
        assert names == {"__Host-zohoauth_session", "__Host-zohoauth_csrf"}
        create_lead(page, f"Tls-{secrets.token_hex(3)}", "Secure GmbH")
        page.get_by_test_id("account-menu").click()
        page.get_by_test_id("logout").click()
        expect(page.get_by_test_id("login")).to_be_visible()
        assert console.unexpected() == []
    finally:
        context.close()


def test_a_login_zoho_could_not_finish_says_so_and_try_again_signs_in(
    open_page: Callable[..., tuple[Page, Console]], admin: httpx.Client
) -> None:
    """Issue 12, finding 6: Zoho down during the code exchange is a wait, not a refused login."""
    # The consent page is the US accounts server's; Clara's code is exchanged at the EU one.
    admin.post("/_emulator/faults", json={"target": "accounts", "dc": "eu", "outage": True})
    try:
        page, console = open_page()
        popup_login(page, "clara@brightwave.eu")
        banner = page.get_by_test_id("error")
        expect(banner).to_contain_text("Zoho is unavailable right now")
        expect(banner).to_contain_text("try again in a minute")
        expect(page.get_by_test_id("login-retry")).to_be_visible()

        small, small_console = open_page(width=360, height=740)  # the full-page flow
        small.get_by_test_id("login").click()
        small.get_by_test_id("email").fill("clara@brightwave.eu")
        small.get_by_test_id("accept").click()
        expect(small.locator("#redirect-title")).to_have_text("Zoho is unavailable right now")
        expect(small.locator("#redirect-retry")).to_be_visible()
        assert "code=" not in small.url
        shot(small, "09-zoho-unavailable-full-page")
    finally:
        admin.post("/_emulator/faults", json={"target": "accounts", "dc": "eu"})
    popup_login(page, "clara@brightwave.eu", trigger="login-retry")  # Zoho is back
    expect(page.get_by_test_id("user-email")).to_have_text("clara@brightwave.eu")
    assert console.unexpected() == []
    assert small_console.unexpected() == []
