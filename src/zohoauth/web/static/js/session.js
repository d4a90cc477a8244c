/* zohoauth — who is signed in: the welcome screen, logging in, the account menu, logging out.
 *
 * Login runs in a popup (the popup's redirect.html announces the outcome, see channel.js) or as
 * a full-page redirect (small screens, blocked popups, modifier-clicks). Every failure of an API
 * call ends in `handleError`, which knows what each error code asks of the user.
 */

import { api } from "./api.js";
import { pluralOf } from "./catalog.js";
import { isTemporaryLoginFailure, loginFailureTitle } from "./channel.js";
import { $, el } from "./dom.js";
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
    showWelcome({ text: err.message });
    return;
  }
  showDataCenters(session.data_centers || []);
  if (!session.authenticated) {
    showWelcome(notice);
    return;
  }
  showApp(session.me);
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
  document.title = "zohoauth — log in with Zoho";
}

function showApp(me) {
  state.me = me;
  $("booting").hidden = true;
  $("welcome").hidden = true;
  $("app").hidden = false;
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
function showReconnect() {
  const who = state.me ? state.me.email : "this account";
  showBanner({
    title: "Your Zoho session has expired",
    text: "Zoho no longer accepts the access for " + who + ". Reconnect to keep working.",
    action: { label: "Reconnect", testid: "reconnect",
      onClick: () => startLogin(null, state.me ? regionOf(state.me.dc) : null) },
  });
}

/** Show what went wrong and what to do; `retry` (optional) becomes a "Try again" button. */
export function handleError(err, retry) {
  if (err.code === "reauth_required") {
    if (state.me) state.me.needs_reconnect = true;
    showReconnect();
  } else if (err.code === "not_logged_in") {
    showWelcome({ text: "You are no longer logged in. Log in again to continue." });
  } else if (err.code === "csrf") {
    showBanner({ text: "This page is out of date. Reload it and try again.",
      action: { label: "Reload", onClick: () => window.location.reload() } });
  } else {
    showBanner({ text: err.message, action: retry ? { label: "Try again", onClick: () => { clearBanner(); retry(); } } : null });
  }
}

// -- login, accounts, logout ------------------------------------------------------------------
/** Log in at Zoho's Multi-DC sign-in, or with `region` "cn" at Zoho China's own. */
export function startLogin(event, region) {
  if (event && (event.metaKey || event.ctrlKey || event.shiftKey || event.button === 1)) return;
  if (event) event.preventDefault();
  const query = region ? "region=" + encodeURIComponent(region) : "";
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
    // A wait (Zoho or the store down, Zoho limiting): offer the same sign-in again.
    const retry = isTemporaryLoginFailure(data.error)
      ? { label: "Try again", testid: "login-retry",
        onClick: () => { clearBanner(); startLogin(null, data.region); } }
      : null;
    showBanner({ title: loginFailureTitle(data.error), text: data.message || "Try logging in again.",
      action: retry });
  }
}

async function switchAccount(id) {
  closeMenu();
  try {
    const me = (await api("POST", "/api/accounts/switch", { id })).data;
    showApp(me);
    toast("Switched to " + me.email);
  } catch (err) {
    handleError(err);
  }
}

export async function connectOrg(event) {
  event.preventDefault();
  const input = $("connect-org-id");
  const orgId = input.value.trim();
  if (!/^[0-9]+$/.test(orgId)) {
    input.setAttribute("aria-invalid", "true");
    input.focus();
    return;
  }
  input.removeAttribute("aria-invalid");
  closeMenu();
  try {
    const me = (await api("POST", "/api/accounts/connect-org", { org_id: orgId })).data;
    input.value = "";
    showApp(me);
    toast("Connected " + me.org_name);
  } catch (err) {
    handleError(err);
  }
}

export async function logout() {
  const revoke = $("revoke").checked;
  const button = $("logout");
  button.disabled = true;
  try {
    const result = (await api("POST", "/api/auth/logout", { revoke })).data;
    closeMenu();
    $("revoke").checked = false;
    if (result.active) {
      await boot();
      toast(result.message);
    } else {
      showWelcome();
      toast(result.message);
    }
  } catch (err) {
    closeMenu();
    handleError(err);
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
