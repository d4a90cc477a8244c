/* zohoauth — the records of the active connection: module tabs, the table, paging, search.
 *
 * The tabs and each table's columns come from GET /api/modules (see catalog.js); rows from
 * GET /api/records/{module} (Zoho's shape: `data`, and `info` with more_records and
 * next_page_token for "Load more") or its /search. Editing and deleting a row are the dialogs'
 * (dialogs.js), handed in by `setRowActions` so that this module does not depend on them.
 */

import { api } from "./api.js";
import { displayName, fieldMeta, labelOf, loadCatalog, loadFields, moduleInfo, modules,
  pluralOf, singularOf } from "./catalog.js";
import { $, el } from "./dom.js";
import { handleError } from "./session.js";
import { state } from "./state.js";

const PER_PAGE = 20;
const SKELETON_COLUMNS = 5;  // while the modules, and so the columns, are not known yet

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });
const number = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

let rowActions = { edit: () => {}, remove: () => {} };
let catalogSeq = 0;

/** `edit(record)` and `remove(record)` run from a row's Edit and Delete buttons. */
export function setRowActions(actions) {
  rowActions = actions;
}

// -- modules and tabs -------------------------------------------------------------------------
/** Show the records of the connection just signed in: its modules as tabs, then the selected
 * module's records (the same module as before, if this connection offers it). */
export async function showRecords() {
  const seq = ++catalogSeq;
  state.seq++;  // answers for the previous connection's table no longer count
  renderSkeleton();
  let offered;
  try {
    offered = await loadCatalog();
  } catch (err) {
    if (seq !== catalogSeq) return;
    renderNoModules("Couldn’t load your CRM modules", "See the message above for what happened and what to do.");
    handleError(err, showRecords, "load your CRM modules");
    return;
  }
  if (seq !== catalogSeq) return;
  if (!offered.length) {
    renderNoModules("No modules to show", "This org’s Zoho CRM offers none of the modules this app shows.");
    return;
  }
  renderTabs();
  selectModule(state.module, { force: true });
}

function renderTabs() {
  const tabs = modules().map((m) => el("button", {
    type: "button", role: "tab", class: "tab", "data-module": m.name, "data-testid": "module-tab",
    "aria-selected": "false", "aria-controls": "records-panel", id: "tab-" + m.name, tabindex: "-1",
  }, m.plural));
  $("module-tabs").replaceChildren(...tabs);
}

function renderNoModules(title, text) {
  $("module-tabs").replaceChildren();
  $("records-body").replaceChildren();
  $("records-table").removeAttribute("aria-busy");
  $("records-table").hidden = true;
  $("empty-state").hidden = false;
  $("empty-new").hidden = true;
  $("empty-title").textContent = title;
  $("empty-text").textContent = text;
  $("load-more").hidden = true;
  $("records-summary").textContent = "";
}

export function selectModule(module, { force = false, focus = false } = {}) {
  if (!moduleInfo(module)) module = modules().length ? modules()[0].name : module;
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
  const plural = pluralOf(module);
  const singular = singularOf(module);
  $("search-label").textContent = "Search " + plural;
  $("search-input").placeholder = "Search " + plural;
  $("new-record").textContent = "New " + singular;
  $("empty-new").textContent = "New " + singular;
  if (state.me) document.title = plural + " — " + state.me.org_name + " — zohoauth";
  renderHead();
  loadFields(module).then(() => { if (state.module === module) renderHead(); }, () => {});
  loadRecords(false);
}

/** Arrow keys, Home and End move between tabs (WAI-ARIA tabs pattern). */
export function onTabKey(event) {
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

// -- the table --------------------------------------------------------------------------------
// The table's columns: the record's name first (one column for first + last name), then
// the module's other main fields.
function tableColumns(module) {
  const info = moduleInfo(module);
  if (!info) return [];
  return ["__name", ...info.columns.filter((f) => !info.nameFields.includes(f))];
}

// What to ask Zoho for: the name fields and the columns.
function requestedFields(module) {
  const info = moduleInfo(module);
  return info ? [...new Set([...info.nameFields, ...info.columns])] : [];
}

function columnLabel(module, column) {
  if (column !== "__name") return labelOf(module, column);
  const names = moduleInfo(module).nameFields;
  return names.length === 1 ? labelOf(module, names[0]) : "Name";
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
  const columns = (tableColumns(state.module).length || SKELETON_COLUMNS) + 1;
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
  $("records-summary").textContent = "Loading " + pluralOf(state.module).toLowerCase() + "…";
}

/** Load the selected module's records: the first page, or (`append`) the next one. */
export async function loadRecords(append) {
  const module = state.module;
  const seq = ++state.seq;
  if (!append) renderSkeleton();
  const params = new URLSearchParams({ per_page: String(PER_PAGE), fields: requestedFields(module).join(",") });
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
    handleError(err, () => loadRecords(append), "load your " + pluralOf(module).toLowerCase());
  } finally {
    more.removeAttribute("aria-busy");
  }
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

/** Draw `state.rows` (or the empty state), the summary and "Load more". */
export function renderRows() {
  const module = state.module;
  const table = $("records-table");
  table.removeAttribute("aria-busy");
  const rows = state.rows.map((record) => {
    const name = displayName(module, record);
    const cells = tableColumns(module).map((field, index) => {
      const cls = index >= 2 ? "hide-narrow" : null;
      // Long values wrap inside their cell (styles.css): nothing pushes the table past its card.
      if (field === "__name") {
        return el("th", { scope: "row", class: "name-cell" }, el("button", { type: "button",
          class: "link-button", onclick: () => rowActions.edit(record), title: "Edit " + name }, name));
      }
      const text = formatValue(module, field, record[field]);
      return el("td", { class: text === null ? ((cls || "") + " muted").trim() : cls },
        text === null ? "—" : el("span", { class: "cell-text", text }));
    });
    cells.push(el("td", { class: "actions-cell" },
      el("button", { type: "button", class: "link-button", "data-testid": "edit-record",
        "aria-label": "Edit " + name, onclick: () => rowActions.edit(record) }, "Edit"),
      el("button", { type: "button", class: "link-button danger", "data-testid": "delete-record",
        "aria-label": "Delete " + name, onclick: () => rowActions.remove(record) }, "Delete")));
    return el("tr", { "data-testid": "record-row", "data-id": record.id }, ...cells);
  });
  $("records-body").replaceChildren(...rows);
  const empty = rows.length === 0;
  $("empty-state").hidden = !empty;
  table.hidden = empty;
  $("empty-new").hidden = Boolean(state.failed);
  const plural = pluralOf(module).toLowerCase();
  if (empty && state.failed) {
    $("empty-title").textContent = "Couldn’t load " + plural;
    $("empty-text").textContent = "See the message above for what happened and what to do.";
  } else if (empty) {
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
  const what = shown === 1 ? singularOf(module).toLowerCase() : plural;
  $("records-summary").textContent = empty ? "" :
    (state.search ? shown + " matching " + what : "Showing " + shown + " " + what) + (more ? " — more available" : "");
}

/** A record was deleted: drop its row, and load again if none is left. */
export function removeRow(id) {
  state.rows = state.rows.filter((r) => r.id !== id);
  renderRows();
  if (!state.rows.length) loadRecords(false);
}

// -- search -----------------------------------------------------------------------------------
export function submitSearch(event) {
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

/** The search box was emptied (text deleted, Escape, the browser's own ×): show every record. */
export function onSearchInput() {
  if ($("search-input").value.trim() === "") clearSearch();
}

export function clearSearch() {
  $("search-input").value = "";
  $("search-clear").hidden = true;
  if (!state.search) return;
  state.search = null;
  renderHead();
  loadRecords(false);
}
