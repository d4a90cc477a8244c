/* zohoauth — index.html's entry: the welcome screen, then the records UI. Plain JavaScript
 * modules, no build step; this file wires the page to them:
 *
 *   js/api.js       fetch, the CSRF header, one error shape     js/dom.js      $ and el
 *   js/session.js   login, accounts, logout, error handling     js/notices.js  banners, toasts
 *   js/catalog.js   the modules and fields (GET /api/modules)   js/state.js    what is shown
 *   js/records.js   tabs, table, paging, search                 js/channel.js  popup → opener
 *   js/dialogs.js   create/edit form, delete confirmation     js/messages.js failures in plain words
 *   js/validate.js  a form field's problem, from Zoho's field metadata
 *
 * redirect.html loads js/redirect.js instead, which needs only api, channel, dom and messages.
 */

import { listenForLogins } from "./js/channel.js";
import { $ } from "./js/dom.js";
import { openCreate, openDelete, openEdit, wireDialogs } from "./js/dialogs.js";
import { clearSearch, loadRecords, onSearchInput, onTabKey, selectModule, setRowActions,
  showRecords, submitSearch } from "./js/records.js";
import { boot, closeMenu, connectOrg, logout, onLoginMessage, onSignedIn, startLogin,
  toggleConnectOrg, toggleMenu } from "./js/session.js";

function wireApp() {
  onSignedIn(showRecords);
  setRowActions({ edit: openEdit, remove: openDelete });
  $("login").addEventListener("click", (event) => startLogin(event));
  $("login-china").addEventListener("click", (event) => startLogin(event, "cn"));
  $("account-button").addEventListener("click", toggleMenu);
  $("connect-another").addEventListener("click", () => { closeMenu(); startLogin(); });
  $("connect-china").addEventListener("click", () => { closeMenu(); startLogin(null, "cn"); });
  $("connect-org-toggle").addEventListener("click", toggleConnectOrg);
  $("connect-org-form").addEventListener("submit", connectOrg);
  $("logout").addEventListener("click", () => logout(false));
  $("logout-all").addEventListener("click", () => logout(true));
  $("module-tabs").addEventListener("click", (event) => {
    const tab = event.target.closest("[role=tab]");
    if (tab) selectModule(tab.dataset.module);
  });
  $("module-tabs").addEventListener("keydown", onTabKey);
  $("search-form").addEventListener("submit", submitSearch);
  $("search-clear").addEventListener("click", () => { clearSearch(); $("search-input").focus(); });
  // Emptying the box clears the filter, however it was emptied: deleting the text, or
  // Escape in the box (Chromium's "search" event).
  $("search-input").addEventListener("input", onSearchInput);
  $("search-input").addEventListener("search", onSearchInput);
  $("new-record").addEventListener("click", openCreate);
  $("empty-new").addEventListener("click", openCreate);
  $("load-more").addEventListener("click", () => loadRecords(true));
  wireDialogs();
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") closeMenu(true);
  });
  document.addEventListener("click", (event) => {
    if (!event.target.closest(".account")) closeMenu();
  });
  listenForLogins(onLoginMessage);
  boot();
}

// Module scripts run after the document is parsed. Imported elsewhere (a test that checks
// every module loads), this module does nothing.
if (document.body && document.body.dataset.page === "app") wireApp();
