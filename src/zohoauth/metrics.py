"""Prometheus metrics, defined once (prometheus-client) and exposed by the web app at /metrics.

Labels are small fixed sets (outcome, status, dc) — never a user, email or token.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REFRESHES = Counter(
    "zohoauth_refreshes_total",
    "Refresh requests sent to Zoho, by outcome.",
    ["dc", "outcome"],  # ok, reauth_required, throttled, unavailable, error
)
LEASE_WAITS = Histogram(
    "zohoauth_lease_wait_seconds",
    "Time spent waiting for another worker's refresh (lease held elsewhere).",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
TOKEN_CACHE = Counter(
    "zohoauth_token_cache_total",
    "Access-token lookups by where they were answered.",
    ["result"],  # hit (in-process), store (read from the database), refresh
)
CRM_CALLS = Counter(
    "zohoauth_crm_calls_total",
    "CRM API calls by HTTP status (0 = no response).",
    ["method", "status"],
)
LOGINS = Counter(
    "zohoauth_logins_total",
    "Completed Login with Zoho attempts, by outcome.",
    ["outcome"],  # ok, state_mismatch, mixup, access_denied, dc_not_enabled, throttled, error
)
REPLACED_REVOCATIONS = Counter(
    "zohoauth_replaced_token_revocations_total",
    "Attempts to revoke a refresh token a re-login replaced, by result.",
    ["result"],  # revoked, already_invalid, retry, give_up
)

# -- the background refresher (zohoauth.refresher; `zohoauth worker`, `serve --refresher`) ---
REFRESHER_REFRESHED = Counter(
    "zohoauth_refresher_refreshed_total",
    "Credentials the background refresher refreshed, by why (expiring, daily_check).",
    ["reason"],
)
REFRESHER_FAILED = Counter(
    "zohoauth_refresher_failed_total",
    "Background refreshes that failed, by kind.",
    ["kind"],  # reauth_required, throttled, unavailable, store, error
)
REFRESHER_LAG = Gauge(
    "zohoauth_refresher_lag_seconds",
    "How late the earliest due refresh is (0: nothing overdue).",
)
REFRESHER_BATCH = Histogram(
    "zohoauth_refresher_batch_seconds",
    "Time to claim and work through one batch of due credentials.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
