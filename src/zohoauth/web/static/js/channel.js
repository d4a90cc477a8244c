/* zohoauth — how the login window tells the app window that a login finished.
 *
 * Login runs in a popup (or, on small screens and when popups are blocked, as a full page).
 * redirect.html announces the outcome with `announceLogin`; index.html hears it with
 * `listenForLogins`, by postMessage from its own origin or by a BroadcastChannel. A message can
 * arrive both ways: its nonce lets the listener act once. Both pages name a failed login the
 * same way (`loginFailureTitle`).
 */

const TYPE = "zohoauth:login";
const CHANNEL = "zohoauth";

/** Tell the opener (and every tab of this origin) `{ok, error?, message?}`. */
export function announceLogin(outcome) {
  const nonce = Math.random().toString(36).slice(2) + Date.now().toString(36);
  const msg = Object.assign({ type: TYPE, nonce }, outcome);
  try {
    if ("BroadcastChannel" in window) {
      const channel = new BroadcastChannel(CHANNEL);
      channel.postMessage(msg);
      channel.close();
    }
  } catch (err) { /* the opener may still get postMessage */ }
  try {
    if (window.opener && window.opener !== window) window.opener.postMessage(msg, window.location.origin);
  } catch (err) { /* opener gone or cross-origin: nothing to tell */ }
}

/** Call `handler({ok, error?, message?})` once per login announced. */
export function listenForLogins(handler) {
  const seen = new Set();
  const hear = (data) => {
    if (!data || data.type !== TYPE || seen.has(data.nonce)) return;
    seen.add(data.nonce);
    handler(data);
  };
  window.addEventListener("message", (event) => {
    if (event.origin === window.location.origin) hear(event.data);
  });
  if ("BroadcastChannel" in window) {
    new BroadcastChannel(CHANNEL).addEventListener("message", (event) => hear(event.data));
  }
}

/** The heading for a login that did not finish, by the backend's error code. */
export function loginFailureTitle(code) {
  return {
    access_denied: "Access was not granted",
    dc_not_enabled: "This app does not accept your Zoho account",
    login_throttled: "Zoho is limiting sign-ins",
    zoho_unavailable: "Zoho is unavailable right now",
    store_unavailable: "Sign-in could not be saved",
  }[code] || "Sign-in did not finish";
}
