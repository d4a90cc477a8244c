/* zohoauth — what a failure means to a person: plain words, what they can do, and the detail.
 *
 * The backend's own message (and Zoho's, e.g. "INTERNAL_ERROR, HTTP 500") is written for
 * whoever runs the app: it goes behind the banner's "Details" toggle with the request id (the
 * X-Request-ID of the failed call, which the backend's log lines carry). What the banner says
 * comes from here, by the error code. Only where the backend's message is already written for
 * the user (Zoho refusing a value, an app that does not accept the user's data center, Zoho's
 * sign-in limit) is it shown as it is.
 */

const SAID_AS_IS = new Set(["invalid_data", "dc_not_enabled", "login_throttled"]);

/** `{title, text}` for an ApiError (or a login failure's `{code, message}`); `doing` says
 * what the user was doing, as "load your contacts". */
export function explain(err, doing) {
  const what = doing || "do that";
  const code = err.code || "";
  if (SAID_AS_IS.has(code) && err.message) {
    return { title: TITLES[code] || "Zoho CRM did not accept this", text: sentence(err.message) };
  }
  const known = PLAIN[code];
  if (known) return { title: known[0], text: known[1].replace("{what}", what) };
  return {
    title: "Something went wrong",
    text: "zohoauth could not " + what + ". Try again; if it keeps happening, tell whoever runs " +
      "this app and give them the request id under Details.",
  };
}

const TITLES = {
  invalid_data: "Zoho CRM did not accept this",
  dc_not_enabled: "This app does not accept your Zoho account",
  login_throttled: "Zoho is limiting sign-ins",
};

const PLAIN = {
  network: ["Can’t reach zohoauth",
    "Your device could not reach the app to {what}. Check your internet connection, then try again."],
  zoho_unavailable: ["Zoho CRM is having trouble",
    "Zoho CRM could not {what} just now. The problem is on Zoho’s side and nothing was changed. " +
    "Try again in a minute."],
  zoho_error: ["Zoho CRM gave an unexpected answer",
    "Zoho CRM could not {what} just now, and nothing was changed. Try again in a minute."],
  throttled: ["Zoho CRM is busy",
    "Zoho is limiting how often this app may call it. Wait a minute, then try again."],
  rate_limited: ["Zoho CRM is busy",
    "Zoho is limiting how often this app may call it. Wait a minute, then try again."],
  no_permission: ["Your Zoho CRM role doesn’t allow this",
    "Zoho CRM does not let your user {what}. Ask your Zoho CRM administrator for access."],
  not_found: ["That record is gone",
    "It may have been deleted in Zoho CRM. Reload the list to see what is there now."],
  unknown_module: ["This module isn’t available",
    "Your Zoho CRM org does not offer it. Pick another tab."],
  store_unavailable: ["zohoauth can’t reach its storage",
    "Your sign-in is safe, but the app could not {what} just now. Try again in a minute."],
  app_misconfigured: ["This app can’t sign in to Zoho right now",
    "Zoho does not accept this app’s settings for your data center, so it could not {what}. " +
    "Nothing you can change fixes this: tell whoever runs this app (the request id is under " +
    "Details)."],
  internal: ["Something went wrong on our side",
    "zohoauth could not {what}. Try again; if it keeps happening, tell whoever runs this app " +
    "and give them the request id under Details."],
  timeout: ["That took too long",
    "The request did not arrive in time. Check your connection, then try again."],
  unknown_account: ["That account is no longer connected",
    "It was logged out, maybe in another tab. Connect it again from the account menu."],
  state_mismatch: ["This sign-in has expired",
    "A sign-in must finish within 10 minutes, in the browser window that started it, and only " +
    "once. Nothing was connected: please start the login again."],
  mixup: ["This sign-in could not be checked",
    "Zoho’s answer did not match the sign-in this browser started, so nothing was connected. " +
    "Please start the login again."],
  login_failed: ["Sign-in did not finish",
    "Zoho did not complete the sign-in, so nothing was connected. Please start the login again."],
  access_denied: ["Access was not granted",
    "You chose not to give zohoauth access to your Zoho account, so nothing was shared. " +
    "You can log in again whenever you like."],
};

/** The technical detail behind "Details": error code, HTTP status, the backend's message and
 * the request id. Empty when there is nothing to add. */
export function detailsOf(err) {
  const lines = [];
  if (err.message) lines.push(String(err.message));
  const parts = [];
  if (err.code) parts.push("error " + err.code);
  if (err.status) parts.push("HTTP " + err.status);
  if (parts.length) lines.push(parts.join(", "));
  if (err.requestId) lines.push("Request id: " + err.requestId);
  return lines.join("\n");
}

/** "the text" → "The text." */
export function sentence(text) {
  const t = String(text || "").trim();
  if (!t) return "";
  return t.charAt(0).toUpperCase() + t.slice(1) + (/[.!?]$/.test(t) ? "" : ".");
}
