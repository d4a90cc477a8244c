#!/bin/sh
# zohoauth's token service with curl: ZOHOAUTH_URL, ZOHOAUTH_SERVICE_KEY, and a connection id.
set -eu
: "${ZOHOAUTH_URL:=http://127.0.0.1:8000}"
auth="Authorization: Bearer ${ZOHOAUTH_SERVICE_KEY}"
curl -fsS -H "$auth" "$ZOHOAUTH_URL/api/v1/connections?email=$1"
curl -fsS -H "$auth" "$ZOHOAUTH_URL/api/v1/connections/$2/token?min_valid=300"
curl -fsS -H "$auth" "$ZOHOAUTH_URL/api/v1/proxy/$2/crm/v8/Leads?fields=Last_Name"
