/* zohoauth — who is signed in: the welcome screen, logging in, the account menu, logging out.
 *
 * Login runs in a popup (the popup's redirect.html announces the outcome, see channel.js) or as
 * a full-page redirect (small screens, blocked popups, modifier-clicks). Every failure of an API
 * call ends in `handleError`, which knows what each error code asks of the user.
 */

import { api } from "./api.js";
import { pluralOf } from "./catalog.js";
import { loginFailureTitle } from "./channel.js";
import { $, el } from "./dom.js";
import { detailsOf, explain, sentence } from "./messages.js";
import { banner, clearBanner, showBanner, toast } from "./notices.js";
import { state } from "./state.js";

let signedIn = () => {};

/** `fn(me)` runs whenever the app shows a connection (login, switch, reconnect). */
export function onSignedIn(fn) {
  signedIn = fn;
}

// -- boot, welcome, app shell -----------------------------------------------------------------
/** Ask the backend who this browser is, and show the welcome screen or the app. */
export async function boot(notice) {
  let session;
  try {
    session = (await api("GET", "/api/session")).data;
  } catch (err) {
    showWelcome(Object.assign(explain(err, "check whether you are logged in"), {
      details: detailsOf(err), action: { label: "Try again", onClick: () => boot(notice) } }));
    return;
  }
  showDataCenters(session.data_centers || []);
  if (!session.authenticated) {
    showWelcome(notice);
    return;
  }
  showApp(session.me);
  // A full-page login (small screens, blocked popups) ends here: say so, as the popup's does.
  if (takeSignedInNote()) toast("Signed in as " + session.me.email);
}

const SIGNED_IN_NOTE = "zohoauth:signed-in";

/** Whether redirect.html just finished a full-page login (it leaves this note); read once. */
function takeSignedInNote() {
  try {
    const note = sessionStorage.getItem(SIGNED_IN_NOTE);
    sessionStorage.removeItem(SIGNED_IN_NOTE);
    return Boolean(note);
  } catch (err) {
    return false;
  }
}

/** The DCs this app accepts, and Zoho China's own sign-in when China is one of them. */
function showDataCenters(dataCenters) {
  state.dataCenters = dataCenters;
  if (dataCenters.length) {
    $("dc-list").textContent = dataCenters.map((dc) => dc.code.toUpperCase()).join(" · ");
    $("dc-list").title = dataCenters.map((dc) => dc.name).join(", ");
  }
  const china = chinaEnabled();
  $("login-china-choice").hidden = !china;
  $("connect-china").hidden = !china;
}

function chinaEnabled() {
  return state.dataCenters.some((dc) => dc.login_dc === "cn");
}

/** The sign-in a DC's users use: "cn" (Zoho China) or null (Zoho's Multi-DC sign-in). */
export function regionOf(dcCode) {
  const dc = state.dataCenters.find((d) => d.code === dcCode);
  return dc && dc.login_dc === "cn" ? "cn" : null;
}

export function showWelcome(notice) {
  $("booting").hidden = true;
  $("app").hidden = true;
  $("welcome").hidden = false;
  state.me = null;
  const slot = $("welcome-banner");
  slot.replaceChildren();
  if (notice) slot.append(banner(notice));
  $("skip-link").setAttribute("href", "#welcome");
  document.title = "zohoauth — log in with Zoho";
}

function showApp(me) {
  state.me = me;
  $("booting").hidden = true;
  $("welcome").hidden = true;
  $("app").hidden = false;
  $("skip-link").setAttribute("href", "#main");
  $("user-email").textContent = me.email;
  $("user-org").textContent = me.org_name;
  $("user-dc").textContent = me.dc.toUpperCase();
  $("user-dc").title = "Zoho data center: " + me.dc_name;
  $("menu-email").textContent = me.email;
  $("menu-org").textContent = me.org_name + " · " + me.dc_name + " data center";
  $("account-button").setAttribute("aria-label",
    "Account: " + me.email + ", " + me.org_name + ", data center " + me.dc.toUpperCase());
  document.title = pluralOf(state.module) + " — " + me.org_name + " — zohoauth";
  renderOtherAccounts(me.accounts || []);
  $("logout").textContent = me.accounts && me.accounts.length ? "Log out of " + me.email : "Log out";
  $("logout-all").hidden = !(me.accounts && me.accounts.length);
  $("connect-org-intro").textContent = "Connect another org of " + me.email;
  clearBanner();
  if (me.needs_reconnect) showReconnect();
  signedIn(me);
}

function renderOtherAccounts(accounts) {
  const list = $("other-accounts");
  list.replaceChildren();
  $("other-accounts-section").hidden = accounts.length === 0;
  for (const account of accounts) {
    const label = [account.org_name, account.dc.toUpperCase()].join(" · ");
    const button = el("button", {
      type: "button", class: "menu-item", "data-testid": "switch-account",
      "data-email": account.email, onclick: () => switchAccount(account.id),
    }, el("strong", { text: account.email }), el("small", { text: label }),
    account.needs_reconnect ? el("span", { class: "needs-reconnect", text: "Needs reconnect" }) : null);
    list.append(el("li", { class: "account-option" }, button));
  }
}

// -- errors -----------------------------------------------------------------------------------
function showReconnect(err) {
  const who = state.me ? state.me.email : "this account";
  showBanner({
    title: "Your Zoho session has expired",
    text: "Zoho no longer accepts the access for " + who + ". Reconnect to keep working.",
    action: { label: "Reconnect", testid: "reconnect",
      onClick: () => startLogin(null, state.me ? regionOf(state.me.dc) : null, state.me ? state.me.email : null) },
    details: err ? detailsOf(err) : null,
  });
}

/** Show what went wrong, in plain words, and what to do: `retry` (optional) becomes a
 * "Try again" button, `doing` ("load your contacts") names what failed; the backend's own
 * words and the request id go behind "Details" (messages.js). */
export function handleError(err, retry, doing) {
  if (err.code === "reauth_required") {
    if (state.me) state.me.needs_reconnect = true;
    showReconnect(err);
  } else if (err.code === "not_logged_in") {
    showWelcome({ title: "You were logged out", text: "This browser is no longer logged in " +
      "(maybe you logged out in another tab). Log in again to continue." });
  } else if (err.code === "csrf") {
    showBanner({ title: "This page is out of date", text: "Reload it and try again.",
      action: { label: "Reload", onClick: () => window.location.reload() }, details: detailsOf(err) });
  } else {
    showBanner(Object.assign(explain(err, doing), { details: detailsOf(err),
      action: retry ? { label: "Try again", testid: "retry", onClick: () => { clearBanner(); retry(); } } : null }));
  }
}

// -- login, accounts, logout ------------------------------------------------------------------
/** Log in at Zoho's Multi-DC sign-in, or with `region` "cn" at Zoho China's own. */
export function startLogin(event, region, loginHint) {
  if (event && (event.metaKey || event.ctrlKey || event.shiftKey || event.button === 1)) return;
  if (event) event.preventDefault();
  // `login_hint`: Zoho's sign-in shows this email already filled in (Reconnect knows it).
  const params = new URLSearchParams();
  if (region) params.set("region", region);
  if (loginHint) params.set("login_hint", loginHint);
  const query = params.toString();
  const fullPage = "/login" + (query ? "?" + query : "");
  // Small screens get the full-page flow: popups there are clumsy or blocked.
  if (window.innerWidth < 640) {
    window.location.assign(fullPage);
    return;
  }
  const width = 520;
  const height = 700;
  const left = Math.max(0, window.screenX + (window.outerWidth - width) / 2);
  const top = Math.max(0, window.screenY + (window.outerHeight - height) / 3);
  const popup = window.open("/login?popup=1" + (query ? "&" + query : ""), "zohoauth-login",
    `popup=yes,width=${width},height=${height},left=${Math.round(left)},top=${Math.round(top)}`);
  if (!popup) {
    window.location.assign(fullPage);  // blocked: the same login, as a full page
    return;
  }
  popup.focus();
}

/** A login finished in another window (see channel.js). */
export function onLoginMessage(data) {
  if (data.ok) {
    boot().then(() => { if (state.me) toast("Signed in as " + state.me.email); });
  } else {
    const failure = { code: data.error, message: data.message, status: data.status, requestId: data.requestId };
    const said = explain(failure, "finish the sign-in");
    showBanner({ title: loginFailureTitle(data.error) === "Sign-in did not finish" ? said.title
      : loginFailureTitle(data.error), text: said.text,
    details: data.error === "access_denied" ? null : detailsOf(failure),
    action: { label: "Try again", testid: "login-retry", onClick: () => { clearBanner(); startLogin(null, data.region); } } });
  }
}

async function switchAccount(id) {
  closeMenu();
  try {
    const me = (await api("POST", "/api/accounts/switch", { id })).data;
    showApp(me);
    toast("Switched to " + me.email);
  } catch (err) {
    handleError(err, null, "switch accounts");
  }
}

/** "Connect another org": the org-ID form stays folded until asked for. */
export function toggleConnectOrg() {
  const form = $("connect-org-form");
  const open = form.hidden;
  form.hidden = !open;
  $("connect-org-toggle").setAttribute("aria-expanded", String(open));
  if (open) $("connect-org-id").focus();
}

function connectOrgProblem(text) {
  const input = $("connect-org-id");
  const box = $("connect-org-error");
  box.textContent = text;
  box.hidden = !text;
  if (text) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
  if (text) input.focus();
}

export async function connectOrg(event) {
  event.preventDefault();
  const input = $("connect-org-id");
  const orgId = input.value.trim();
  if (!orgId) {
    connectOrgProblem("Enter the org ID: a number, shown in Zoho CRM under Setup → Company Details.");
    return;
  }
  if (!/^[0-9]{1,30}$/.test(orgId)) {
    connectOrgProblem("“" + orgId.slice(0, 40) + "” is not an org ID: an org ID is digits only, " +
      "like the one under Setup → Company Details in Zoho CRM.");
    return;
  }
  connectOrgProblem("");
  const submit = $("connect-org-submit");
  submit.disabled = true;
  try {
    const me = (await api("POST", "/api/accounts/connect-org", { org_id: orgId })).data;
    input.value = "";
    $("connect-org-form").hidden = true;
    $("connect-org-toggle").setAttribute("aria-expanded", "false");
    closeMenu();
    showApp(me);
    toast("Connected " + me.org_name + " (" + me.email + ")");
  } catch (err) {
    const who = state.me ? state.me.email : "your user";
    if (err.code === "unknown_org") {
      connectOrgProblem("Zoho says " + who + " is not a member of org " + orgId + ". Check the " +
        "number under Setup → Company Details in that org’s Zoho CRM.");
    } else if (err.code === "already_connected" && state.me && state.me.org_id === orgId) {
      connectOrgProblem("Org " + orgId + " (" + state.me.org_name + ") is already connected for " +
        who + ": it is the one you are using now.");
    } else if (err.code === "already_connected") {
      connectOrgProblem("Org " + orgId + " is already connected for " + who + ". Pick it under " +
        "“Switch account” above.");
    } else if (err.code === "reauth_required" || err.code === "not_logged_in" || err.code === "csrf") {
      closeMenu();
      handleError(err);
    } else {
      const said = explain(err, "connect that org");
      connectOrgProblem(said.title + ". " + said.text);
    }
  } finally {
    submit.disabled = false;
  }
}

function describeAccount(a) {
  return a.email + " (" + a.org_name + ")";
}

/** Log out the active account, or (`all`) every account of this browser; say who was logged
 * out and who is active now. */
export async function logout(all) {
  const revoke = $("revoke").checked;
  const button = $(all === true ? "logout-all" : "logout");
  button.disabled = true;
  try {
    const result = (await api("POST", "/api/auth/logout", { revoke, all: all === true })).data;
    closeMenu();
    $("revoke").checked = false;
    const gone = (result.logged_out || []).map(describeAccount);
    let note = gone.length ? "Logged out " + gone.join(", ") + "." : "Logged out.";
    if (revoke && result.message) note += " " + sentence(result.message.replace(/^logged out(?: here)?[;,] ?/, ""));
    if (result.active) {
      await boot();
      note += " Now using " + describeAccount(result.active) + ".";
    } else {
      showWelcome();
    }
    toast(note);
  } catch (err) {
    closeMenu();
    handleError(err, null, "log out");
  } finally {
    button.disabled = false;
  }
}

// -- the account menu -------------------------------------------------------------------------
export function toggleMenu() {
  if ($("account-menu").hidden) openMenu(); else closeMenu();
}

function openMenu() {
  $("account-menu").hidden = false;
  $("account-button").setAttribute("aria-expanded", "true");
  const first = $("account-menu").querySelector("button:not([hidden]), input");
  if (first) first.focus();
}

export function closeMenu(restoreFocus) {
  if ($("account-menu").hidden) return;
  $("account-menu").hidden = true;
  $("account-button").setAttribute("aria-expanded", "false");
  if (restoreFocus) $("account-button").focus();
}
