/* zohoauth — redirect.html, Zoho's redirect target: finish the login and continue.
 *
 * Posts code, state, location and accounts-server to the backend (which checks the state and
 * the data center), tells the app window how it went, then closes the popup or goes to the app.
 * This page loads only what it needs: the API call, the login channel and the DOM helper.
 */

import { api } from "./api.js";
import { announceLogin, loginFailureTitle } from "./channel.js";
import { $ } from "./dom.js";

const PARAMS = [["code", "code"], ["state", "state"], ["location", "location"],
  ["accounts-server", "accounts_server"], ["error", "error"]];

async function finishRedirect() {
  const params = new URLSearchParams(window.location.search);
  const payload = {};
  for (const [param, key] of PARAMS) {
    const value = params.get(param);
    if (value) payload[key] = value;
  }
  // The grant code must not stay in the address bar, the history or a bookmark.
  if (window.location.search) history.replaceState(null, "", window.location.pathname);

  if (!payload.state && !payload.code && !payload.error) {
    showResult("Nothing to finish here",
      "This page completes a Zoho login, but it was opened without one. Start the login from zohoauth.");
    return;
  }
  let result = null;
  let failure = null;
  try {
    result = (await api("POST", "/api/auth/callback", payload)).data;
  } catch (err) {
    failure = err;
  }
  const inPopup = Boolean((result && result.popup) || (failure && failure.body.popup) || window.opener);
  if (result) {
    announceLogin({ ok: true });
    if (inPopup) window.close();
    // Not a popup, or the browser kept it open: continue in this window.
    setTimeout(() => window.location.replace("/"), inPopup ? 400 : 0);
    return;
  }
  const denied = payload.error === "access_denied" || failure.code === "access_denied";
  const code = denied ? "access_denied" : failure.code;
  const message = denied
    ? "You chose not to give zohoauth access to your Zoho account, so nothing was shared. " +
      "You can log in again whenever you like."
    : sentence(failure.message);
  announceLogin({ ok: false, error: code, message, region: failure.body.region || null });
  if (inPopup && window.opener) window.close();
  // "Try again" starts at the same sign-in as this login did (Zoho China has its own).
  if (failure.body.region === "cn") $("redirect-retry").href = "/login?region=cn";
  showResult(loginFailureTitle(code), message);
}

function sentence(text) {
  const t = String(text || "Try logging in again.");
  return t.charAt(0).toUpperCase() + t.slice(1) + (/[.!?]$/.test(t) ? "" : ".");
}

function showResult(title, message) {
  $("redirect-working").hidden = true;
  $("redirect-title").textContent = title;
  $("redirect-message").textContent = message;
  $("redirect-result").hidden = false;
  $("redirect-retry").focus();
}

// Module scripts run after the document is parsed. Imported elsewhere (a test that checks
// every module loads), this module does nothing.
if (document.body && document.body.dataset.page === "redirect") finishRedirect();
