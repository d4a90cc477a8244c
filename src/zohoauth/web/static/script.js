/* zohoauth — the client side of "Login with Zoho" and the records UI. Plain JavaScript, no build.
 *
 * Two pages load this file:
 *   index.html    (data-page="app")      the welcome screen, then the records UI;
 *   redirect.html (data-page="redirect") Zoho's redirect target: it posts code, state, location
 *                                        and accounts-server to the backend, then continues.
 * Login runs in a popup (the opener is told by postMessage/BroadcastChannel and the popup
 * closes) or as a full-page redirect (small screens, blocked popups, modifier-clicks).
 *
 * Everything that came from Zoho or the user reaches the page through textContent, never as
 * HTML. State-changing calls carry the X-CSRF-Token header copied from the zohoauth_csrf cookie.
 */
"use strict";

(function () {
  // -- shared helpers ---------------------------------------------------------------------
  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  class ApiError extends Error {
    constructor(status, code, message, body) {
      super(message);
      this.status = status;
      this.code = code;
      this.body = body || {};
    }
  }

  function readCookie(name) {
    for (const part of document.cookie.split(";")) {
      const [key, ...rest] = part.trim().split("=");
      if (key === name) return rest.join("=");
    }
    return "";
  }

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    const init = { method, headers, credentials: "same-origin", cache: "no-store" };
    if (method !== "GET") headers["X-CSRF-Token"] = readCookie("zohoauth_csrf");
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (err) {
      throw new ApiError(0, "network", "Could not reach zohoauth. Check your connection and try again.");
    }
    let data = null;
    try {
      data = await response.json();
    } catch (err) {
      data = null;
    }
    if (!response.ok) {
      const code = (data && data.error) || "http_" + response.status;
      const message = (data && data.message) || "The request failed (HTTP " + response.status + "). Try again.";
      throw new ApiError(response.status, code, message, data);
    }
    return { status: response.status, data };
  }

  const LOGIN_MESSAGE = "zohoauth:login";

  // -- redirect.html: finish the login ------------------------------------------------------
  async function finishRedirect() {
    const params = new URLSearchParams(window.location.search);
    const payload = {};
    for (const [param, key] of [["code", "code"], ["state", "state"], ["location", "location"],
      ["accounts-server", "accounts_server"], ["error", "error"]]) {
      const value = params.get(param);
      if (value) payload[key] = value;
    }
    // The grant code must not stay in the address bar, the history or a bookmark.
    if (window.location.search) history.replaceState(null, "", window.location.pathname);

    const nonce = Math.random().toString(36).slice(2) + Date.now().toString(36);
    const notify = (message) => {
      const msg = Object.assign({ type: LOGIN_MESSAGE, nonce }, message);
      try {
        if ("BroadcastChannel" in window) {
          const channel = new BroadcastChannel("zohoauth");
          channel.postMessage(msg);
          channel.close();
        }
      } catch (err) { /* the opener may still get postMessage */ }
      try {
        if (window.opener && window.opener !== window) window.opener.postMessage(msg, window.location.origin);
      } catch (err) { /* opener gone or cross-origin: nothing to tell */ }
    };

    if (!payload.state && !payload.code && !payload.error) {
      showRedirectResult("Nothing to finish here",
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
      notify({ ok: true });
      if (inPopup) window.close();
      // Not a popup, or the browser kept it open: continue in this window.
      setTimeout(() => window.location.replace("/"), inPopup ? 400 : 0);
      return;
    }
    const denied = payload.error === "access_denied" || failure.code === "access_denied";
    const message = denied
      ? "You chose not to give zohoauth access to your Zoho account, so nothing was shared. " +
        "You can log in again whenever you like."
      : failure.message;
    notify({ ok: false, error: denied ? "access_denied" : failure.code, message });
    if (inPopup && window.opener) window.close();
    showRedirectResult(denied ? "Access was not granted" : "Sign-in did not finish", message);
  }

  function showRedirectResult(title, message) {
    $("redirect-working").hidden = true;
    $("redirect-title").textContent = title;
    $("redirect-message").textContent = message;
    $("redirect-result").hidden = false;
    $("redirect-retry").focus();
  }

  // -- index.html: state --------------------------------------------------------------------
  const MODULES = ["Leads", "Contacts", "Deals", "Accounts"];
  const SINGULAR = { Leads: "Lead", Contacts: "Contact", Deals: "Deal", Accounts: "Account" };
  const COLUMNS = {
    Leads: ["First_Name", "Last_Name", "Company", "Email", "Lead_Status", "Modified_Time"],
    Contacts: ["First_Name", "Last_Name", "Email", "Phone", "Title", "Modified_Time"],
    Deals: ["Deal_Name", "Stage", "Amount", "Closing_Date", "Modified_Time"],
    Accounts: ["Account_Name", "Industry", "Phone", "Billing_City", "Modified_Time"],
  };
  const NAME_FIELDS = {
    Leads: ["First_Name", "Last_Name"], Contacts: ["First_Name", "Last_Name"],
    Deals: ["Deal_Name"], Accounts: ["Account_Name"],
  };
  // Fields a plain form cannot edit well: lookups need a record picker, the rest are system's.
  const NOT_IN_FORMS = new Set(["ownerlookup", "lookup", "multiselectlookup", "userlookup", "bigint",
    "fileupload", "imageupload", "subform", "formula", "autonumber", "profileimage"]);
  const PER_PAGE = 20;

  const state = {
    me: null,
    module: "Leads",
    fields: {},          // module -> Zoho field metadata
    rows: [],
    info: null,
    page: 1,
    token: null,
    search: null,        // {key, value} while a search is shown
    sort: { by: "Modified_Time", order: "desc" },
    seq: 0,              // guards against answers of superseded loads
    editing: null,       // {mode, record}
    deleting: null,
    failed: false,       // the last load failed (the empty state must not say "no records")
    handledLogins: new Set(),
  };

  const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });
  const number = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

  // -- boot, welcome, app shell -------------------------------------------------------------
  async function boot(notice) {
    let session;
    try {
      session = (await api("GET", "/api/session")).data;
    } catch (err) {
      showWelcome({ text: err.message });
      return;
    }
    if (!session.authenticated) {
      showWelcome(notice);
      return;
    }
    showApp(session.me);
  }

  function showWelcome(notice) {
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
    document.title = state.module + " — " + me.org_name + " — zohoauth";
    renderOtherAccounts(me.accounts || []);
    clearBanner();
    if (me.needs_reconnect) showReconnect();
    selectModule(state.module, { force: true });
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

  // -- banners and toasts -------------------------------------------------------------------
  function banner({ title, text, action, secondary }) {
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

  function showBanner(options) {
    const slot = $("app").hidden ? $("welcome-banner") : $("banner-slot");
    slot.replaceChildren(banner(options));
  }

  function clearBanner() {
    $("banner-slot").replaceChildren();
  }

  function showReconnect() {
    const who = state.me ? state.me.email : "this account";
    showBanner({
      title: "Your Zoho session has expired",
      text: "Zoho no longer accepts the access for " + who + ". Reconnect to keep working.",
      action: { label: "Reconnect", testid: "reconnect", onClick: () => startLogin() },
    });
  }

  let toastTimer = 0;
  function toast(message) {
    const box = $("toast");
    box.textContent = message;
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { box.hidden = true; }, 3500);
  }

  function handleError(err, retry) {
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

  // -- login, accounts, logout --------------------------------------------------------------
  function startLogin(event) {
    if (event && (event.metaKey || event.ctrlKey || event.shiftKey || event.button === 1)) return;
    if (event) event.preventDefault();
    // Small screens get the full-page flow: popups there are clumsy or blocked.
    if (window.innerWidth < 640) {
      window.location.assign("/login");
      return;
    }
    const width = 520;
    const height = 700;
    const left = Math.max(0, window.screenX + (window.outerWidth - width) / 2);
    const top = Math.max(0, window.screenY + (window.outerHeight - height) / 3);
    const popup = window.open("/login?popup=1", "zohoauth-login",
      `popup=yes,width=${width},height=${height},left=${Math.round(left)},top=${Math.round(top)}`);
    if (!popup) {
      window.location.assign("/login");  // blocked: the same login, as a full page
      return;
    }
    popup.focus();
  }

  function onLoginMessage(data) {
    if (!data || data.type !== LOGIN_MESSAGE || state.handledLogins.has(data.nonce)) return;
    state.handledLogins.add(data.nonce);
    if (data.ok) {
      boot().then(() => { if (state.me) toast("Signed in as " + state.me.email); });
    } else {
      const title = data.error === "access_denied" ? "Access was not granted" : "Sign-in did not finish";
      showBanner({ title, text: data.message || "Try logging in again." });
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

  async function connectOrg(event) {
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

  async function logout() {
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

  function toggleMenu() {
    if ($("account-menu").hidden) openMenu(); else closeMenu();
  }

  function openMenu() {
    $("account-menu").hidden = false;
    $("account-button").setAttribute("aria-expanded", "true");
    const first = $("account-menu").querySelector("button:not([hidden]), input");
    if (first) first.focus();
  }

  function closeMenu(restoreFocus) {
    if ($("account-menu").hidden) return;
    $("account-menu").hidden = true;
    $("account-button").setAttribute("aria-expanded", "false");
    if (restoreFocus) $("account-button").focus();
  }

  // -- modules, records table ---------------------------------------------------------------
  function selectModule(module, { force = false, focus = false } = {}) {
    if (!MODULES.includes(module)) module = "Leads";
    if (module === state.module && !force) return;
    state.module = module;
    state.search = null;
    $("search-input").value = "";
    $("search-clear").hidden = true;
    for (const tab of document.querySelectorAll("#module-tabs [role=tab]")) {
      const selected = tab.dataset.module === module;
      tab.setAttribute("aria-selected", String(selected));
      tab.tabIndex = selected ? 0 : -1;
      if (selected && focus) tab.focus();
    }
    $("records-panel").setAttribute("aria-labelledby", "tab-" + module);
    const singular = SINGULAR[module];
    $("search-label").textContent = "Search " + module;
    $("search-input").placeholder = "Search " + module;
    $("new-record").textContent = "New " + singular;
    $("empty-new").textContent = "New " + singular;
    if (state.me) document.title = module + " — " + state.me.org_name + " — zohoauth";
    renderHead();
    loadFields(module).then(() => { if (state.module === module) renderHead(); }, () => {});
    loadRecords(false);
  }

  async function loadFields(module) {
    if (state.fields[module]) return state.fields[module];
    const data = (await api("GET", "/api/modules/" + module + "/fields")).data;
    state.fields[module] = data.fields || [];
    return state.fields[module];
  }

  function fieldMeta(module, apiName) {
    return (state.fields[module] || []).find((f) => f.api_name === apiName);
  }

  function labelOf(module, apiName) {
    const meta = fieldMeta(module, apiName);
    return meta ? meta.display_label || meta.field_label : apiName.replace(/_/g, " ");
  }

  // The table's columns: the record's name first (one column for first + last name), then
  // the module's other main fields.
  function tableColumns(module) {
    const names = NAME_FIELDS[module];
    return ["__name", ...COLUMNS[module].filter((f) => !names.includes(f))];
  }

  function columnLabel(module, column) {
    if (column !== "__name") return labelOf(module, column);
    const names = NAME_FIELDS[module];
    return names.length > 1 ? "Name" : labelOf(module, names[0]);
  }

  function renderHead() {
    const module = state.module;
    const cells = tableColumns(module).map((name, index) => {
      const label = columnLabel(module, name);
      const cls = index >= 2 ? "hide-narrow" : null;
      if (name === "Modified_Time") {
        const order = state.sort.order === "asc" ? "ascending" : "descending";
        const th = el("th", { scope: "col", "aria-sort": state.search ? null : order, class: cls },
          el("button", { type: "button", class: "sort-button", onclick: toggleSort,
            "aria-label": label + ", sort " + (order === "ascending" ? "newest first" : "oldest first") }, label));
        return th;
      }
      return el("th", { scope: "col", class: cls, text: label });
    });
    cells.push(el("th", { scope: "col" }, el("span", { class: "visually-hidden", text: "Actions" })));
    $("records-head").replaceChildren(...cells);
  }

  function toggleSort() {
    state.sort.order = state.sort.order === "desc" ? "asc" : "desc";
    renderHead();
    loadRecords(false);
  }

  function renderSkeleton() {
    const columns = tableColumns(state.module).length + 1;
    const rows = [];
    for (let i = 0; i < 6; i++) {
      const cells = [];
      for (let c = 0; c < columns; c++) cells.push(el("td", {}, el("span")));
      rows.push(el("tr", { class: "skeleton", "aria-hidden": "true" }, ...cells));
    }
    $("records-body").replaceChildren(...rows);
    $("records-table").setAttribute("aria-busy", "true");
    $("empty-state").hidden = true;
    $("load-more").hidden = true;
    $("records-summary").textContent = "Loading " + state.module.toLowerCase() + "…";
  }

  async function loadRecords(append) {
    const module = state.module;
    const seq = ++state.seq;
    if (!append) renderSkeleton();
    const params = new URLSearchParams({ per_page: String(PER_PAGE), fields: COLUMNS[module].join(",") });
    let path = "/api/records/" + module;
    if (state.search) {
      path += "/search";
      params.set(state.search.key, state.search.value);
      if (append) params.set("page", String(state.page + 1));
    } else {
      params.set("sort_by", state.sort.by);
      params.set("sort_order", state.sort.order);
      if (append && state.token) params.set("page_token", state.token);
      else if (append) params.set("page", String(state.page + 1));
    }
    const more = $("load-more");
    if (append) more.setAttribute("aria-busy", "true");
    try {
      const data = (await api("GET", path + "?" + params.toString())).data;
      if (seq !== state.seq) return;
      const info = data.info || {};
      state.rows = append ? state.rows.concat(data.data || []) : (data.data || []);
      state.info = info;
      state.page = info.page || (append ? state.page + 1 : 1);
      state.token = info.next_page_token || null;
      renderRows();
    } catch (err) {
      if (seq !== state.seq) return;
      if (!append) state.rows = [];
      state.failed = !append;
      renderRows();
      state.failed = false;
      handleError(err, () => loadRecords(append));
    } finally {
      more.removeAttribute("aria-busy");
    }
  }

  function displayName(module, record) {
    const name = NAME_FIELDS[module].map((f) => record[f]).filter(Boolean).join(" ");
    return name || SINGULAR[module] + " " + record.id;
  }

  function formatValue(module, name, value) {
    if (value === null || value === undefined || value === "") return null;
    const meta = fieldMeta(module, name);
    const type = meta ? meta.data_type : (name.endsWith("_Time") ? "datetime" : "");
    if (typeof value === "object") {
      if (Array.isArray(value)) return value.map((v) => (v && v.name) || v).join(", ");
      return value.name || value.id || null;
    }
    if (type === "datetime" || name.endsWith("_Time")) {
      const when = new Date(value);
      return Number.isNaN(when.getTime()) ? String(value) : dateTime.format(when);
    }
    if (type === "date") {
      const when = new Date(value + "T00:00:00Z");
      return Number.isNaN(when.getTime()) ? String(value) : dateOnly.format(when);
    }
    if (typeof value === "boolean") return value ? "Yes" : "No";
    if (typeof value === "number") return number.format(value);
    return String(value);
  }

  function renderRows() {
    const module = state.module;
    const table = $("records-table");
    table.removeAttribute("aria-busy");
    const rows = state.rows.map((record) => {
      const name = displayName(module, record);
      const cells = tableColumns(module).map((field, index) => {
        const cls = index >= 2 ? "hide-narrow" : null;
        if (field === "__name") {
          return el("th", { scope: "row", class: "name-cell" }, el("button", { type: "button",
            class: "link-button", onclick: () => openEdit(record), title: "Edit " + name }, name));
        }
        const text = formatValue(module, field, record[field]);
        return el("td", { class: text === null ? ((cls || "") + " muted").trim() : cls, title: text || null },
          text === null ? "—" : text);
      });
      cells.push(el("td", { class: "actions-cell" },
        el("button", { type: "button", class: "link-button", "data-testid": "edit-record",
          "aria-label": "Edit " + name, onclick: () => openEdit(record) }, "Edit"),
        el("button", { type: "button", class: "link-button danger", "data-testid": "delete-record",
          "aria-label": "Delete " + name, onclick: () => openDelete(record) }, "Delete")));
      return el("tr", { "data-testid": "record-row", "data-id": record.id }, ...cells);
    });
    $("records-body").replaceChildren(...rows);
    const empty = rows.length === 0;
    $("empty-state").hidden = !empty;
    table.hidden = empty;
    $("empty-new").hidden = Boolean(state.failed);
    if (empty && state.failed) {
      $("empty-title").textContent = "Couldn’t load " + module.toLowerCase();
      $("empty-text").textContent = "See the message above for what happened and what to do.";
    } else if (empty) {
      const plural = module.toLowerCase();
      $("empty-title").textContent = state.search
        ? "No " + plural + " match “" + state.search.value + "”"
        : "No " + plural + " yet";
      $("empty-text").textContent = state.search
        ? "Try another word, or clear the search to see every record."
        : "Records you create here are saved to your Zoho CRM.";
    }
    const more = Boolean(state.info && state.info.more_records);
    $("load-more").hidden = !more || empty;
    const shown = state.rows.length;
    const what = shown === 1 ? SINGULAR[module].toLowerCase() : module.toLowerCase();
    $("records-summary").textContent = empty ? "" :
      (state.search ? shown + " matching " + what : "Showing " + shown + " " + what) + (more ? " — more available" : "");
  }

  // -- search ---------------------------------------------------------------------------------
  function submitSearch(event) {
    event.preventDefault();
    const value = $("search-input").value.trim();
    if (!value) {
      clearSearch();
      return;
    }
    state.search = { key: value.includes("@") ? "email" : "word", value };
    $("search-clear").hidden = false;
    renderHead();
    loadRecords(false);
  }

  function clearSearch() {
    $("search-input").value = "";
    $("search-clear").hidden = true;
    if (!state.search) return;
    state.search = null;
    renderHead();
    loadRecords(false);
  }

  // -- create and edit form -------------------------------------------------------------------
  function formFields(meta) {
    return meta.filter((f) => f.api_name !== "id" && !f.read_only && !f.field_read_only &&
      !NOT_IN_FORMS.has(f.data_type) && f.visible !== false &&
      !(f.view_type && f.view_type.create === false));
  }

  function inputFor(field, value) {
    const id = "f-" + field.api_name;
    const common = { id, name: field.api_name, "aria-required": field.system_mandatory ? "true" : null,
      required: field.system_mandatory || null };
    const type = field.data_type;
    if (type === "picklist") {
      const select = el("select", common);
      for (const option of field.pick_list_values || []) {
        const actual = option.actual_value === "-None-" ? "" : option.actual_value;
        select.append(el("option", { value: actual, text: option.display_value }));
      }
      select.value = value === null || value === undefined ? "" : String(value);
      return select;
    }
    if (type === "textarea") {
      const area = el("textarea", Object.assign({ rows: 3, maxlength: Math.min(field.length || 32000, 32000) }, common));
      area.value = value || "";
      return area;
    }
    if (type === "boolean") {
      const box = el("input", Object.assign({ type: "checkbox" }, common, { required: null }));
      box.checked = Boolean(value);
      return box;
    }
    const types = { email: "email", phone: "tel", website: "url", integer: "number", currency: "number",
      double: "number", bigint: "number", date: "date", datetime: "datetime-local" };
    const attrs = Object.assign({ type: types[type] || "text" }, common);
    if (attrs.type === "number") attrs.step = type === "integer" ? "1" : "any";
    if (attrs.type === "text" || attrs.type === "email" || attrs.type === "tel" || attrs.type === "url") {
      attrs.maxlength = field.length || 255;
    }
    if (type === "email") attrs.autocomplete = "off";
    const input = el("input", attrs);
    input.value = value === null || value === undefined ? "" : String(value);
    return input;
  }

  function fieldBlock(field, value) {
    const input = inputFor(field, value);
    const label = el("label", { for: input.id }, field.display_label || field.field_label || field.api_name,
      field.system_mandatory ? el("span", { class: "req", "aria-hidden": "true" }, "*") : null,
      field.system_mandatory ? el("span", { class: "visually-hidden" }, " (required)") : null);
    const wide = field.data_type === "textarea";
    if (field.data_type === "boolean") return el("div", { class: "field checkbox" + (wide ? " wide" : "") }, input, label);
    return el("div", { class: "field" + (wide ? " wide" : "") }, label, input);
  }

  async function openCreate() {
    await openForm("create", null);
  }

  async function openEdit(record) {
    await openForm("edit", record);
  }

  async function openForm(mode, record) {
    const module = state.module;
    let meta;
    let full = record;
    try {
      meta = await loadFields(module);
      if (mode === "edit") full = (await api("GET", "/api/records/" + module + "/" + record.id)).data.data[0];
    } catch (err) {
      handleError(err);
      return;
    }
    state.editing = { mode, module, record: full };
    const singular = SINGULAR[module];
    $("record-dialog-title").textContent = mode === "create" ? "New " + singular : "Edit " + displayName(module, full);
    $("record-submit").textContent = mode === "create" ? "Create " + singular : "Save changes";
    $("form-error").hidden = true;
    const blocks = formFields(meta).map((f) => fieldBlock(f, full ? full[f.api_name] : null));
    $("form-fields").replaceChildren(...blocks);
    $("record-dialog").showModal();
    const first = $("form-fields").querySelector("input, select, textarea");
    if (first) first.focus();
  }

  function readValue(field, input) {
    if (field.data_type === "boolean") return input.checked;
    const raw = input.value.trim();
    if (raw === "") return null;
    if (field.data_type === "integer") return Number.parseInt(raw, 10);
    if (["currency", "double"].includes(field.data_type)) return Number(raw);
    return raw;
  }

  function same(a, b) {
    if ((a === null || a === undefined || a === "") && (b === null || b === undefined || b === "")) return true;
    if (typeof a === "number" || typeof b === "number") return Number(a) === Number(b);
    return a === b;
  }

  async function submitForm(event) {
    event.preventDefault();
    const editing = state.editing;
    if (!editing) return;
    const meta = formFields(state.fields[editing.module] || []);
    const form = $("record-form");
    const record = {};
    const missing = [];
    for (const field of meta) {
      const input = form.elements.namedItem(field.api_name);
      if (!input) continue;
      const value = readValue(field, input);
      input.removeAttribute("aria-invalid");
      if (field.system_mandatory && (value === null || value === "")) {
        missing.push(field);
        input.setAttribute("aria-invalid", "true");
        continue;
      }
      if (field.data_type !== "boolean" && input.type !== "checkbox" && !input.checkValidity()) {
        missing.push(field);
        input.setAttribute("aria-invalid", "true");
        continue;
      }
      if (editing.mode === "create") {
        if (value !== null && value !== false) record[field.api_name] = value;
      } else if (!same(value, editing.record[field.api_name])) {
        record[field.api_name] = value;
      }
    }
    if (missing.length) {
      showFormError("Check " + missing.map((f) => f.display_label || f.api_name).join(", ") + ".");
      form.elements.namedItem(missing[0].api_name).focus();
      return;
    }
    const submit = $("record-submit");
    submit.disabled = true;
    submit.setAttribute("aria-busy", "true");
    const singular = SINGULAR[editing.module];
    try {
      if (editing.mode === "create") {
        await api("POST", "/api/records/" + editing.module, { data: [record] });
        toast(singular + " created");
      } else if (Object.keys(record).length) {
        await api("PUT", "/api/records/" + editing.module + "/" + editing.record.id, { data: [record] });
        toast(singular + " saved");
      } else {
        toast("Nothing changed");
      }
      state.editing = null;
      $("record-dialog").close();
      if (state.module === editing.module) loadRecords(false);
    } catch (err) {
      if (err.code === "reauth_required" || err.code === "not_logged_in") {
        $("record-dialog").close();
        handleError(err);
      } else {
        const details = (((err.body || {}).data || [])[0] || {}).details || {};
        const bad = details.api_name && form.elements.namedItem(details.api_name);
        if (bad) bad.setAttribute("aria-invalid", "true");
        showFormError(err.message);
      }
    } finally {
      submit.disabled = false;
      submit.removeAttribute("aria-busy");
    }
  }

  function showFormError(message) {
    const box = $("form-error");
    box.textContent = message;
    box.hidden = false;
  }

  // -- delete -------------------------------------------------------------------------------
  function openDelete(record) {
    const module = state.module;
    const name = displayName(module, record);
    state.deleting = { module, record, name };
    $("delete-title").textContent = "Delete this " + SINGULAR[module].toLowerCase() + "?";
    const org = state.me ? state.me.org_name + "’s" : "your";
    $("delete-text").textContent = "“" + name + "” will be deleted from " + org + " Zoho CRM. This can’t be undone.";
    $("delete-dialog").showModal();
    $("delete-cancel").focus();
  }

  async function confirmDelete(event) {
    event.preventDefault();
    const target = state.deleting;
    if (!target) return;
    const button = $("delete-confirm");
    button.disabled = true;
    try {
      await api("DELETE", "/api/records/" + target.module + "/" + target.record.id);
      $("delete-dialog").close();
      toast("Deleted “" + target.name + "”");
      state.rows = state.rows.filter((r) => r.id !== target.record.id);
      renderRows();
      if (!state.rows.length) loadRecords(false);
    } catch (err) {
      $("delete-dialog").close();
      handleError(err);
    } finally {
      button.disabled = false;
      state.deleting = null;
    }
  }

  // -- wiring ---------------------------------------------------------------------------------
  function onTabKey(event) {
    const tabs = Array.from(document.querySelectorAll("#module-tabs [role=tab]"));
    const index = tabs.indexOf(document.activeElement);
    if (index < 0) return;
    let next = null;
    if (event.key === "ArrowRight") next = (index + 1) % tabs.length;
    else if (event.key === "ArrowLeft") next = (index - 1 + tabs.length) % tabs.length;
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = tabs.length - 1;
    if (next === null) return;
    event.preventDefault();
    selectModule(tabs[next].dataset.module, { focus: true });
  }

  function wireApp() {
    $("login").addEventListener("click", startLogin);
    $("account-button").addEventListener("click", toggleMenu);
    $("connect-another").addEventListener("click", () => { closeMenu(); startLogin(); });
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
    $("record-form").addEventListener("submit", submitForm);
    for (const id of ["record-cancel", "record-cancel-x"]) {
      $(id).addEventListener("click", () => { state.editing = null; $("record-dialog").close(); });
    }
    $("delete-form").addEventListener("submit", confirmDelete);
    $("delete-cancel").addEventListener("click", () => { state.deleting = null; $("delete-dialog").close(); });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape") closeMenu(true);
    });
    document.addEventListener("click", (event) => {
      if (!event.target.closest(".account")) closeMenu();
    });
    window.addEventListener("message", (event) => {
      if (event.origin === window.location.origin) onLoginMessage(event.data);
    });
    if ("BroadcastChannel" in window) {
      new BroadcastChannel("zohoauth").addEventListener("message", (event) => onLoginMessage(event.data));
    }
    boot();
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (document.body.dataset.page === "redirect") finishRedirect();
    else wireApp();
  });
})();
