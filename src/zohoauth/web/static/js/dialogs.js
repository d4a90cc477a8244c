/* zohoauth — the record dialogs: the create/edit form and the delete confirmation.
 *
 * The form is built from Zoho's field metadata (catalog.js): inputs named by the field's API
 * name, required ones marked, each problem said under its field (validate.js) as soon as the
 * field is left and again on submit; an edit sends only the fields that changed. Closing a
 * form with unsaved changes (Escape, Cancel, ×) asks first. A delete names the record and the
 * org before anything is sent.
 */

import { api } from "./api.js";
import { displayName, loadFields, loadedFields, singularOf } from "./catalog.js";
import { $, el } from "./dom.js";
import { toast } from "./notices.js";
import { labelOf, problemOf } from "./validate.js";
import { loadRecords, removeRow } from "./records.js";
import { explain } from "./messages.js";
import { handleError } from "./session.js";
import { state } from "./state.js";

// Fields a plain form cannot edit well: lookups need a record picker, the rest are system's.
const NOT_IN_FORMS = new Set(["ownerlookup", "lookup", "multiselectlookup", "userlookup", "bigint",
  "fileupload", "imageupload", "subform", "formula", "autonumber", "profileimage"]);
const INPUT_TYPES = { email: "email", phone: "tel", website: "url", integer: "number", currency: "number",
  double: "number", bigint: "number", date: "date", datetime: "datetime-local" };

// -- create and edit --------------------------------------------------------------------------
function formFields(meta) {
  return meta.filter((f) => f.api_name !== "id" && !f.read_only && !f.field_read_only &&
    !NOT_IN_FORMS.has(f.data_type) && f.visible !== false &&
    !(f.view_type && f.view_type.create === false));
}

function inputFor(field, value) {
  const id = "f-" + field.api_name;
  const common = { id, name: field.api_name, "aria-required": field.system_mandatory ? "true" : null,
    required: field.system_mandatory || null, "aria-describedby": "err-" + field.api_name };
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
    const area = el("textarea", Object.assign({ rows: 3 }, common));
    area.value = value || "";
    return area;
  }
  if (type === "boolean") {
    const box = el("input", Object.assign({ type: "checkbox" }, common, { required: null }));
    box.checked = Boolean(value);
    return box;
  }
  const attrs = Object.assign({ type: INPUT_TYPES[type] || "text" }, common);
  if (attrs.type === "number") attrs.step = type === "integer" ? "1" : "any";
  // No maxlength: a pasted value would be cut silently; validate.js says what is too long.
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
  const error = el("p", { class: "field-error", id: "err-" + field.api_name, "data-testid": "field-error",
    hidden: true });
  // Said when the field is left, then kept current while it is corrected. What Zoho refused
  // (zohoRefused) stays said while the field still holds the refused value.
  const current = () => problemOf(field, input) ||
    (input.dataset.zohoRefused === input.value ? input.dataset.zohoSaid : null);
  input.addEventListener("blur", () => showFieldProblem(input, current()));
  input.addEventListener("input", () => {
    if (input.getAttribute("aria-invalid") === "true") showFieldProblem(input, current());
  });
  return el("div", { class: "field" + (wide ? " wide" : "") }, label, input, error);
}

function showFieldProblem(input, problem) {
  const box = document.getElementById("err-" + input.name);
  if (problem) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
  if (!box) return;
  box.textContent = problem || "";
  box.hidden = !problem;
}

// -- unsaved changes --------------------------------------------------------------------------
let pristine = "";

function formSnapshot() {
  const values = [];
  for (const input of $("form-fields").querySelectorAll("input, select, textarea")) {
    values.push(input.name + "=" + (input.type === "checkbox" ? input.checked : input.value));
  }
  return values.join("\n");
}

function closeForm() {
  state.editing = null;
  $("record-dialog").close();
}

/** Close the form, asking first when it holds changes not saved. */
function leaveForm() {
  if (state.editing && formSnapshot() !== pristine) {
    $("discard-dialog").showModal();
    $("discard-keep").focus();
    return;
  }
  closeForm();
}

export async function openCreate() {
  await openForm("create", null);
}

export async function openEdit(record) {
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
    handleError(err, () => openForm(mode, record), mode === "edit" ? "open this record" : "open the form");
    return;
  }
  state.editing = { mode, module, record: full };
  const singular = singularOf(module);
  $("record-dialog-title").textContent = mode === "create" ? "New " + singular : "Edit " + displayName(module, full);
  $("record-submit").textContent = mode === "create" ? "Create " + singular : "Save changes";
  $("form-error").hidden = true;
  const blocks = formFields(meta).map((f) => fieldBlock(f, full ? full[f.api_name] : null));
  $("form-fields").replaceChildren(...blocks);
  pristine = formSnapshot();
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
  const meta = formFields(loadedFields(editing.module));
  const form = $("record-form");
  const record = {};
  const missing = [];
  for (const field of meta) {
    const input = form.elements.namedItem(field.api_name);
    if (!input) continue;
    const value = readValue(field, input);
    const problem = problemOf(field, input);
    showFieldProblem(input, problem);
    if (problem) {
      missing.push(field);
      continue;
    }
    if (editing.mode === "create") {
      if (value !== null && value !== false) record[field.api_name] = value;
    } else if (!same(value, editing.record[field.api_name])) {
      record[field.api_name] = value;
    }
  }
  if (missing.length) {
    showFormError(missing.length === 1
      ? "Please correct " + labelOf(missing[0]) + ": see the note under it."
      : "Please correct " + missing.length + " fields: " + missing.map(labelOf).join(", ") +
        ". Each has a note under it.");
    form.elements.namedItem(missing[0].api_name).focus();
    return;
  }
  $("form-error").hidden = true;
  const submit = $("record-submit");
  submit.disabled = true;
  submit.setAttribute("aria-busy", "true");
  const singular = singularOf(editing.module);
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
    closeForm();
    if (state.module === editing.module) loadRecords(false);
  } catch (err) {
    if (err.code === "reauth_required" || err.code === "not_logged_in") {
      $("record-dialog").close();
      handleError(err);
    } else if (err.code === "invalid_data") {
      // Zoho refused a value: its own words, under the field it named (and above the form).
      const result = ((err.body || {}).data || [])[0] || {};
      const details = result.details || {};
      const bad = details.api_name && form.elements.namedItem(details.api_name);
      // A duplicate is said plainly first (only other records can tell), Zoho's words after.
      const plain = result.code === "DUPLICATE_DATA"
        ? "Another " + singular.toLowerCase() + " already has this value, and this field allows no duplicates. "
        : "";
      const zohoSaid = result.message
        ? plain + "Zoho CRM did not accept this value: " + result.message + "." : err.message;
      if (bad) {
        bad.dataset.zohoRefused = bad.value;
        bad.dataset.zohoSaid = zohoSaid;
        showFieldProblem(bad, zohoSaid);
        bad.focus();
      }
      const named = bad && meta.find((f) => f.api_name === details.api_name);
      showFormError(named ? "Zoho CRM did not accept " + labelOf(named) +
        ": see the note under it. Your input is still in the form." : err.message);
    } else {
      const said = explain(err, editing.mode === "create" ? "create the " + singular.toLowerCase()
        : "save your changes");
      showFormError(said.title + ". " + said.text + " Your changes are still in the form." +
        (err.requestId ? " (Request id " + err.requestId + ")" : ""));
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

// -- delete -----------------------------------------------------------------------------------
export function openDelete(record) {
  const module = state.module;
  const name = displayName(module, record);
  state.deleting = { module, record, name };
  $("delete-title").textContent = "Delete this " + singularOf(module).toLowerCase() + "?";
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
    removeRow(target.record.id);
  } catch (err) {
    $("delete-dialog").close();
    handleError(err, null, "delete “" + target.name + "”");
  } finally {
    button.disabled = false;
    state.deleting = null;
  }
}

/** Wire the dialogs' own buttons (index.html's record and delete dialogs). */
export function wireDialogs() {
  $("record-form").addEventListener("submit", submitForm);
  for (const id of ["record-cancel", "record-cancel-x"]) $(id).addEventListener("click", leaveForm);
  // Escape on the form: the same question as Cancel when something was typed.
  $("record-dialog").addEventListener("cancel", (event) => {
    event.preventDefault();
    leaveForm();
  });
  $("discard-form").addEventListener("submit", (event) => {
    event.preventDefault();
    $("discard-dialog").close();
    closeForm();
  });
  $("discard-keep").addEventListener("click", () => $("discard-dialog").close());
  $("record-dialog").addEventListener("close", () => { state.editing = null; });
  $("delete-form").addEventListener("submit", confirmDelete);
  $("delete-cancel").addEventListener("click", () => { state.deleting = null; $("delete-dialog").close(); });
}
