/* zohoauth — telling the user: error banners (dismissible, with an action) and short toasts. */

import { $, el } from "./dom.js";

/** A banner: `{title?, text, action?: {label, onClick, testid?}, secondary?: {label, onClick},
 * details?}`; `details` (technical: the backend's message, the request id) sit behind a
 * "Details" toggle. */
export function banner({ title, text, action, secondary, details }) {
  const close = el("button", { type: "button", class: "icon-button", "aria-label": "Dismiss" }, "×");
  const box = el("div", { class: "banner error", role: "alert", "data-testid": "error" },
    el("div", { class: "banner-body" },
      el("p", {}, title ? el("strong", { text: title }) : null, title && text ? " — " : null, text || ""),
      details ? el("details", { class: "details", "data-testid": "error-details" },
        el("summary", { text: "Details" }), el("pre", { text: details })) : null),
    el("div", { class: "banner-actions" },
      action ? el("button", { type: "button", class: "button small primary", "data-testid": action.testid || null,
        onclick: action.onClick, text: action.label }) : null,
      secondary ? el("button", { type: "button", class: "button small", onclick: secondary.onClick,
        text: secondary.label }) : null,
      close));
  close.addEventListener("click", () => box.remove());
  return box;
}

/** Show one banner, on the welcome screen or in the app, whichever is showing. */
export function showBanner(options) {
  const slot = $("app").hidden ? $("welcome-banner") : $("banner-slot");
  slot.replaceChildren(banner(options));
}

export function clearBanner() {
  $("banner-slot").replaceChildren();
}

let toastTimer = 0;

/** A short success note that goes away by itself. */
export function toast(message) {
  const box = $("toast");
  box.textContent = message;
  box.hidden = false;
  clearTimeout(toastTimer);
  // Long enough to read: a longer note (who was logged out, who is active now) stays longer.
  toastTimer = setTimeout(() => { box.hidden = true; }, Math.min(10000, 3500 + 45 * message.length));
}
