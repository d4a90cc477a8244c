"""The HTML of the emulated Zoho sign-in/consent page and its error page.

Plain server-rendered HTML with inline CSS and no script, so it works in any browser and under a
strict Content-Security-Policy. Every value that reaches the page goes through `html.escape`: client
names, scopes and echoed parameters are attacker-controlled. Browser tests find the form by
`data-testid` = `email`, `accept`, `reject` (a public contract); the page itself names a failure in
an element with `data-testid="consent-error"`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape

#: Headers for every page: no caching (codes and states are single-use), no framing
#: (clickjacking), no Referer (the redirect carries the code), no inline script.
PAGE_HEADERS: dict[str, str] = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # No form-action directive: browsers apply it to the redirect that follows the POST, and the
    # redirect goes to the client's own origin.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"
    ),
}

_CSS = """
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;
 background:#f3f5f9;color:#1f2933;font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif}
main{width:100%;max-width:440px;margin:24px;background:#fff;border-radius:12px;
 box-shadow:0 2px 12px rgba(15,23,42,.08);padding:32px}
.brand{font-weight:700;letter-spacing:.02em;color:#e42527;margin:0 0 4px}
.sub{color:#64748b;font-size:13px;margin:0 0 20px}
h1{font-size:20px;margin:0 0 12px}
ul{margin:8px 0 20px;padding-left:20px}
li{margin:2px 0;font-family:ui-monospace,Menlo,monospace;font-size:13px;word-break:break-all}
label{display:block;font-weight:600;margin:0 0 6px}
input[type=email]{width:100%;padding:10px 12px;border:1px solid #cbd5e1;border-radius:8px;
 font:inherit}
input[type=email]:focus{outline:2px solid #2563eb;border-color:#2563eb}
.note{color:#64748b;font-size:13px;margin:8px 0 20px}
.buttons{display:flex;gap:12px}
button{flex:1;padding:10px 14px;border-radius:8px;font:inherit;font-weight:600;cursor:pointer}
.accept{background:#2563eb;border:1px solid #2563eb;color:#fff}
.reject{background:#fff;border:1px solid #cbd5e1;color:#1f2933}
.error{background:#fef2f2;border:1px solid #fecaca;color:#991b1b;border-radius:8px;
 padding:10px 12px;margin:0 0 16px;word-break:break-word}
"""


def _layout(title: str, body: str) -> str:
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )


def _header(server: str | None = None) -> str:
    where = f" &middot; {escape(server)}" if server else ""
    return (
        '<p class="brand">Zoho Accounts</p>'
        f'<p class="sub">Offline emulator{where} &middot; no real Zoho account is used</p>'
    )


def consent_page(
    *,
    client_name: str,
    scopes: Iterable[str],
    access_type: str,
    hidden: Mapping[str, str],
    action: str,
    email: str = "",
    error: str | None = None,
    known_emails: Iterable[str] = (),
    server: str | None = None,
) -> str:
    """The sign-in + consent form; it POSTs `hidden`, `email` and `decision` to `action`.

    `server` is the real accounts host this page stands for (e.g. accounts.zoho.com.cn), and
    `known_emails` the accounts that can sign in there (offered as suggestions)."""
    scope_items = "".join(f"<li>{escape(s)}</li>" for s in scopes)
    fields = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in hidden.items()
    )
    options = "".join(f'<option value="{escape(e)}">' for e in known_emails)
    problem = (
        f'<p class="error" role="alert" data-testid="consent-error">{escape(error)}</p>'
        if error
        else ""
    )
    offline = (
        "It will keep access while you are away (offline access)."
        if access_type == "offline"
        else "It will have access only for a short time (online access)."
    )
    body = (
        f'{_header(server)}<h1><span data-testid="client-name">{escape(client_name)}</span> '
        "wants to access your Zoho account</h1>"
        f"{problem}"
        f'<p>It asks for:</p><ul data-testid="scopes">{scope_items}</ul>'
        f'<form method="post" action="{escape(action)}">{fields}'
        '<label for="email">Sign in as (email)</label>'
        '<input type="email" id="email" name="email" data-testid="email" required '
        f'autocomplete="email" list="zoho-accounts" value="{escape(email)}">'
        f'<datalist id="zoho-accounts">{options}</datalist>'
        f'<p class="note">{escape(offline)}</p>'
        # Accept comes first: pressing Enter submits with the form's first button.
        '<div class="buttons">'
        '<button type="submit" name="decision" value="accept" class="accept" '
        'data-testid="accept">Accept</button>'
        '<button type="submit" name="decision" value="reject" class="reject" '
        'data-testid="reject" formnovalidate>Reject</button>'
        "</div></form>"
    )
    return _layout(f"Authorize {client_name}", body)


def error_page(title: str, message: str) -> str:
    """A refused request: said on the page, never redirected (RFC 6749 §4.1.2.1)."""
    body = (
        f"{_header()}<h1>{escape(title)}</h1>"
        f'<p class="error" role="alert" data-testid="consent-error">{escape(message)}</p>'
        '<p class="note">Nothing was sent back to the application. Fix the request and '
        "start the sign-in again.</p>"
    )
    return _layout(title, body)
