/* zohoauth — calling the backend: JSON in and out, the CSRF header, one error shape.
 *
 * Every failure becomes an ApiError carrying the backend's `{"error", "message"}`: `code` says
 * what happened (`reauth_required`, `not_logged_in`, `csrf`, ...), `message` the backend's own
 * words (shown under "Details", see messages.js), `requestId` the X-Request-ID the backend
 * answered with (the id its log lines of that request carry).
 * State-changing calls carry the X-CSRF-Token header copied from the zohoauth_csrf cookie
 * (named __Host-zohoauth_csrf when the app is served over https).
 */

export class ApiError extends Error {
  constructor(status, code, message, body, requestId) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body || {};
    this.requestId = requestId || "";
  }
}

function readCookie(name) {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return rest.join("=");
  }
  return "";
}

/** `api("POST", "/api/...", body)` → `{status, data}`; throws ApiError. */
export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (method !== "GET") {
    headers["X-CSRF-Token"] = readCookie("__Host-zohoauth_csrf") || readCookie("zohoauth_csrf");
  }
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
    throw new ApiError(response.status, code, message, data, response.headers.get("X-Request-ID"));
  }
  return { status: response.status, data };
}
