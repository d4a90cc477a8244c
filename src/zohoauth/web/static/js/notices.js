/* zohoauth — telling the user: error banners (dismissible, with an action) and short toasts. */

import { $, el } from "./dom.js";

/** A banner: `{title?, text, action?: {label, onClick, testid?}, secondary?: {label, onClick}}`. */
export function banner({ title, text, action, secondary }) {
  const close = el("button", { type: "button", class: "icon-button", "aria-label": "Dismiss" }, "×");
  const box = el("div", { class: "banner error", role: "alert", "data-testid": "error" },
    el("p", {}, title ? el("strong", { text: title }) : null, title && text ? " — " : null, text || ""),
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
  toastTimer = setTimeout(() => { box.hidden = true; }, 3500);
}
