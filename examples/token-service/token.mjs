// A Node (>= 18) backend using zohoauth's token service: get a token, call Zoho CRM with it,
// then make the same call through the proxy. No dependencies: the built-in fetch.
//
//   ZOHOAUTH_URL=http://127.0.0.1:8000 ZOHOAUTH_SERVICE_KEY=zas_... node token.mjs user@example.com
const base = process.env.ZOHOAUTH_URL ?? "http://127.0.0.1:8000";
const key = process.env.ZOHOAUTH_SERVICE_KEY;
const email = process.argv[2];
const auth = { Authorization: `Bearer ${key}` };

async function call(path) {
  const resp = await fetch(`${base}${path}`, { headers: auth });
  const body = await resp.json();
  if (!resp.ok) throw new Error(`${resp.status} ${body.error}: ${body.message}`);
  return body;
}

// 1. Find the user's connection.
const { data } = await call(`/api/v1/connections?email=${encodeURIComponent(email)}`);
if (data.length === 0) throw new Error(`no connection for ${email}`);
const conn = data[0];

// 2. An access token valid for at least 5 more minutes (zohoauth refreshes it, once, for
//    every caller), then a direct CRM call with it.
const tok = await call(`/api/v1/connections/${conn.id}/token?min_valid=300`);
const direct = await fetch(`${tok.api_domain}/crm/v8/Leads?fields=Last_Name&per_page=5`, {
  headers: { Authorization: `Zoho-oauthtoken ${tok.access_token}`, "X-CRM-ORG": tok.org_id },
});
const leads = (await direct.json()).data;

// 3. The same call through the proxy: this backend never holds a token.
const proxied = await call(`/api/v1/proxy/${conn.id}/crm/v8/Leads?fields=Last_Name&per_page=5`);

console.log(JSON.stringify({ connection: conn.id, dc: tok.dc, direct: leads.length,
  proxied: proxied.data.length }));
