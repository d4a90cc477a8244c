/* zohoauth — what the index page shows right now, shared by its modules. */

export const state = {
  me: null,            // the active connection, as /api/session describes it
  dataCenters: [],     // the DCs this app accepts: [{code, name, login_dc}] (/api/session)
  module: "Leads",     // the selected tab (a module's API name)
  rows: [],
  info: null,          // Zoho's `info` of the last page: more_records, next_page_token, ...
  page: 1,
  token: null,
  search: null,        // {key, value} while a search is shown
  sort: { by: "Modified_Time", order: "desc" },
  seq: 0,              // guards against answers of superseded loads
  editing: null,       // {mode, module, record}
  deleting: null,      // {module, record, name}
  failed: false,       // the last load failed (the empty state must not say "no records")
};
