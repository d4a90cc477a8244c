/* zohoauth — index.html's entry: the welcome screen, then the records UI. Plain JavaScript
 * modules, no build step; this file wires the page to them:
 *
 *   js/api.js       fetch, the CSRF header, one error shape     js/dom.js      $ and el
 *   js/session.js   login, accounts, logout, error handling     js/notices.js  banners, toasts
 *   js/catalog.js   the modules and fields (GET /api/modules)   js/state.js    what is shown
 *   js/records.js   tabs, table, paging, search                 js/channel.js  popup → opener
 *   js/dialogs.js   create/edit form, delete confirmation
 *
 * redirect.html loads js/redirect.js instead, which needs only api, channel and dom.
 */

import { listenForLogins } from "./js/channel.js";
import { $ } from "./js/dom.js";
import { openCreate, openDelete, openEdit, wireDialogs } from "./js/dialogs.js";
import { clearSearch, loadRecords, onTabKey, selectModule, setRowActions, showRecords,
  submitSearch } from "./js/records.js";
import { boot, closeMenu, connectOrg, logout, onLoginMessage, onSignedIn, startLogin,
  toggleMenu } from "./js/session.js";

function wireApp() {
  onSignedIn(showRecords);
  setRowActions({ edit: openEdit, remove: openDelete });
  $("login").addEventListener("click", (event) => startLogin(event));
  $("login-china").addEventListener("click", (event) => startLogin(event, "cn"));
  $("account-button").addEventListener("click", toggleMenu);
  $("connect-another").addEventListener("click", () => { closeMenu(); startLogin(); });
  $("connect-china").addEventListener("click", () => { closeMenu(); startLogin(null, "cn"); });
  $("connect-org-form").addEventListener("submit", connectOrg);
  $("logout").addEventListener("click", logout);
  $("module-tabs").addEventListener("click", (event) => {
    const tab = event.target.closest("[role=tab]");
    if (tab) selectModule(tab.dataset.module);
  });
  $("module-tabs").addEventListener("keydown", onTabKey);
  $("search-form").addEventListener("submit", submitSearch);
  $("search-clear").addEventListener("click", clearSearch);
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
