/* zohoauth — redirect.html, Zoho's redirect target: finish the login and continue.
 *
 * Posts code, state, location and accounts-server to the backend (which checks the state and
 * the data center), tells the app window how it went, then closes the popup or goes to the app.
 * This page loads only what it needs: the API call, the login channel and the DOM helper.
 */

import { api } from "./api.js";
import { announceLogin, loginFailureTitle } from "./channel.js";
import { $ } from "./dom.js";
import { detailsOf, explain } from "./messages.js";

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
      "This page completes a Zoho login, but it was opened without one. Start the login from zohoauth.", "");
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
    // The app says "Signed in as …" when it opens after a full-page login (session.js).
    try { sessionStorage.setItem("zohoauth:signed-in", "1"); } catch (err) { /* private mode */ }
    if (inPopup) window.close();
    // Not a popup, or the browser kept it open: continue in this window.
    setTimeout(() => window.location.replace("/"), inPopup ? 400 : 0);
    return;
  }
  const denied = payload.error === "access_denied" || failure.code === "access_denied";
  const code = denied ? "access_denied" : failure.code;
  const region = failure && failure.body ? failure.body.region : null;
  // The app window says it in its own banner (session.js), from the same code and message.
  announceLogin({ ok: false, error: code, message: failure ? failure.message : "", region,
    status: failure ? failure.status : 0, requestId: failure ? failure.requestId : "" });
  if (inPopup && window.opener) window.close();
  // "Try again" starts at the same sign-in as this login did (Zoho China has its own).
  if (region === "cn") $("redirect-retry").href = "/login?region=cn";
  // Plain words first (messages.js); the backend's own, and the request id, under "Details".
  const said = explain(denied ? { code } : failure, "finish the sign-in");
  const title = loginFailureTitle(code) === "Sign-in did not finish" ? said.title : loginFailureTitle(code);
  showResult(title, said.text, denied ? "" : detailsOf(failure));
}

function showResult(title, message, details) {
  $("redirect-working").hidden = true;
  $("redirect-title").textContent = title;
  $("redirect-message").textContent = message;
  const more = $("redirect-details");
  if (more) {
    more.hidden = !details;
    $("redirect-details-text").textContent = details || "";
  }
  $("redirect-result").hidden = false;
  $("redirect-retry").focus();
}

// Module scripts run after the document is parsed. Imported elsewhere (a test that checks
// every module loads), this module does nothing.
if (document.body && document.body.dataset.page === "redirect") finishRedirect();
