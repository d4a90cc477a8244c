/* zohoauth — the CRM modules the app offers and their fields, as the backend describes them.
 *
 * GET /api/modules names the modules (Zoho's `settings/modules`: API name and the org's labels,
 * in tab order), the table's main columns of each (`default_fields`) and the fields that name
 * a record (`name_fields`); GET /api/modules/{module}/fields is Zoho's field metadata, which
 * labels the columns and builds the forms. Both belong to the org, so they are loaded again for
 * every connection.
 */

import { api } from "./api.js";

let offered = [];       // [{name, singular, plural, columns, nameFields}], in tab order
let fields = {};        // module -> Zoho field metadata
let generation = 0;     // bumped per loadCatalog(): field answers for an older one are dropped

/** Load the modules of the active connection (and forget the previous one's fields). */
export async function loadCatalog() {
  const mine = ++generation;
  fields = {};
  const data = (await api("GET", "/api/modules")).data;
  const columns = data.default_fields || {};
  const names = data.name_fields || {};
  const loaded = (data.modules || []).map((m) => ({
    name: m.api_name,
    singular: m.singular_label || m.api_name,
    plural: m.plural_label || m.api_name,
    columns: columns[m.api_name] || [],
    nameFields: names[m.api_name] || [],
  }));
  if (mine === generation) offered = loaded;
  return loaded;
}

/** The modules offered, in tab order (empty until loadCatalog() answered). */
export function modules() {
  return offered;
}

/** One module's description, or undefined. */
export function moduleInfo(name) {
  return offered.find((m) => m.name === name);
}

/** The module's name for people: plural ("Leads") or singular ("Lead"), as the org calls it. */
export function pluralOf(name) {
  const info = moduleInfo(name);
  return info ? info.plural : name;
}

export function singularOf(name) {
  const info = moduleInfo(name);
  return info ? info.singular : name;
}

/** The module's field metadata, from the backend once per connection. */
export async function loadFields(module) {
  if (fields[module]) return fields[module];
  const mine = generation;
  const data = (await api("GET", "/api/modules/" + module + "/fields")).data;
  if (mine !== generation) return data.fields || [];
  fields[module] = data.fields || [];
  return fields[module];
}

/** The field metadata already loaded (empty if not yet). */
export function loadedFields(module) {
  return fields[module] || [];
}

export function fieldMeta(module, apiName) {
  return loadedFields(module).find((f) => f.api_name === apiName);
}

export function labelOf(module, apiName) {
  const meta = fieldMeta(module, apiName);
  return meta ? meta.display_label || meta.field_label : apiName.replace(/_/g, " ");
}

/** What a record is called: its name fields ("Ada Lovelace"), else "Lead 123...". */
export function displayName(module, record) {
  const info = moduleInfo(module);
  const name = (info ? info.nameFields : []).map((f) => record[f]).filter(Boolean).join(" ");
  return name || singularOf(module) + " " + record.id;
}
