"""The chaos run's figures, per fault, from what was recorded.

- answers: every sample of the load generator, by kind and verdict (`verdict.py`), counted in
  the phase in which it was answered (a request sent before a fault and answered during it
  reflects the fault);
- refreshes: the emulator's token-request log (`recorder.py`): requests per credential per fault
  (all of them, including those an outage answered), tokens minted, and the worst 600-second
  window of *Zoho's* clock per credential — Zoho allows 10 minted tokens per refresh token per
  10 minutes, and answers "Access Denied" past that;
- tokens lost: users who cannot read with their session after every fault cleared (users whose
  grant was revoked at Zoho are counted apart: they are asked to log in again, and must be able
  to read once they did);
- the store afterwards: credential statuses, leases still held (an orphan lease is one whose row
  still names an owner after the load stopped), duplicate credentials or connections;
- the app's own log: access lines by status and every error line (a 500 is logged there).
"""

from __future__ import annotations

import collections
import statistics
from collections.abc import Iterable, Sequence
from typing import Any

from . import verdict
from .users import Sample

ZOHO_WINDOW = 600.0
ZOHO_MAX_MINTS = 10


def worst_window(times: Sequence[float], window: float = ZOHO_WINDOW) -> int:
    """The most `times` inside any `window` seconds (sliding)."""
    ordered = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(ordered):
        while t - ordered[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def _pct(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))], 3)


def answers(samples: Iterable[Sample]) -> dict[str, Any]:
    chosen = list(samples)
    kinds: collections.Counter[str] = collections.Counter()
    by_verdict: collections.Counter[str] = collections.Counter()
    violations: collections.Counter[str] = collections.Counter()
    for s in chosen:
        by_verdict[s.verdict] += 1
        if s.verdict != verdict.OK:
            kinds[s.kind] += 1
        if s.verdict == verdict.VIOLATION:
            violations[f"{s.kind} ({s.op})"] += 1
    latencies = [s.t1 - s.t0 for s in chosen]
    return {
        "requests": len(chosen),
        "ok": by_verdict[verdict.OK],
        "by_verdict": dict(by_verdict),
        "errors_by_kind": dict(kinds.most_common()),
        "violations": dict(violations.most_common()),
        "p50_s": _pct(latencies, 50),
        "p99_s": _pct(latencies, 99),
    }


def refreshes(log: Iterable[dict[str, Any]], start: float, end: float) -> dict[str, Any]:
    chosen = [r for r in log if r["grant"] == "refresh_token" and start <= r["t"] < end]
    attempts = collections.Counter(r["cred"] for r in chosen)
    mints = collections.Counter(r["cred"] for r in chosen if r["outcome"] == "minted")
    return {
        "requests": len(chosen),
        "credentials": len(attempts),
        "max_requests_per_credential": max(attempts.values(), default=0),
        "mean_requests_per_credential": round(statistics.mean(attempts.values()), 2)
        if attempts
        else 0,
        "minted": sum(mints.values()),
        "max_minted_per_credential": max(mints.values(), default=0),
        "outcomes": dict(collections.Counter(r["outcome"] for r in chosen)),
    }


def zoho_limits(
    log: Iterable[dict[str, Any]], throttle_phase: tuple[float, float] | None
) -> dict[str, Any]:
    refresh = [r for r in log if r["grant"] == "refresh_token"]
    mints: dict[str, list[float]] = collections.defaultdict(list)
    tries: dict[str, list[float]] = collections.defaultdict(list)
    for r in refresh:
        tries[r["cred"]].append(r["vt"])
        if r["outcome"] == "minted":
            mints[r["cred"]].append(r["vt"])
    outside = [
        r
        for r in refresh
        if r["outcome"] == "throttled"
        and not (throttle_phase and throttle_phase[0] <= r["t"] < throttle_phase[1])
    ]
    return {
        "max_minted_in_600s_per_credential": max(
            (worst_window(v) for v in mints.values()), default=0
        ),
        "max_requests_in_600s_per_credential": max(
            (worst_window(v) for v in tries.values()), default=0
        ),
        "limit_minted_per_600s": ZOHO_MAX_MINTS,
        "throttled_outside_the_throttle_fault": len(outside),
        "refresh_requests": len(refresh),
        "logins_exchanged": sum(1 for r in log if r["grant"] == "authorization_code"),
    }


def store(
    credentials: list[dict[str, Any]], connections: list[dict[str, Any]], now: float
) -> dict[str, Any]:
    held = [
        {"email": c["email"], "expired": (c["lease_expires_at"] or 0) < now}
        for c in credentials
        if c["lease_owner"] is not None
    ]
    per_user = collections.Counter((c["client_id"], c["dc"], c["zuid"]) for c in credentials)
    per_conn = collections.Counter(
        (c["client_id"], c["dc"], c["zuid"], c["org_id"]) for c in connections
    )
    return {
        "credentials": len(credentials),
        "connections": len(connections),
        "statuses": dict(collections.Counter(c["status"] for c in credentials)),
        "leases_held": held,
        "still_throttled": sum(1 for c in credentials if (c["throttled_until"] or 0) > now),
        "duplicate_credentials": sum(n - 1 for n in per_user.values() if n > 1),
        "duplicate_connections": sum(n - 1 for n in per_conn.values() if n > 1),
    }


def build(
    raw: dict[str, Any],
    samples: list[Sample],
    token_log: list[dict[str, Any]],
    revoked: set[str],
    revealing: dict[str, dict[str, int]],
) -> dict[str, Any]:
    """The report: per fault, then the run as a whole."""
    faults = []
    throttle: tuple[float, float] | None = None
    phases = raw["phases"]
    for i, p in enumerate(phases):
        # Each answer counts in the phase in which it arrived (it reflects the state of the
        # world then): [started, cleared) is the fault, [cleared, next phase) its recovery.
        end = phases[i + 1]["started"] if i + 1 < len(phases) else p["ended"]
        during = [s for s in samples if p["started"] <= s.t1 < p["cleared"]]
        after = [s for s in samples if p["cleared"] <= s.t1 < end]
        late = [
            s
            for s in after
            if p["recovered_at"] and s.t0 >= p["recovered_at"] and s.verdict != verdict.OK
        ]
        if p["name"] == "refresh_throttled":
            throttle = (p["started"], p["ended"])
        faults.append(
            {
                "fault": p["name"],
                "description": p["description"],
                "fault_seconds": round(p["cleared"] - p["started"], 1),
                "during": answers(during),
                "recovery": answers(after),
                "refreshes_during": refreshes(token_log, p["started"], p["cleared"]),
                "refreshes_recovery": refreshes(
                    token_log, p["cleared"], p["ended"] or p["cleared"]
                ),
                "logins": p["logins"],
                "recovery_seconds": round(p["recovered_at"] - p["cleared"], 2)
                if p["recovered_at"]
                else None,
                "late_errors": dict(collections.Counter(s.kind for s in late)),
                "retry_after": sorted(
                    {int(s.retry_after) for s in during + after if s.retry_after.isdigit()}
                ),
                "revealing": {
                    **revealing.get(p["name"], {}),
                    **{
                        f"{k} (recovery)": n
                        for k, n in revealing.get(p["name"] + ":recovery", {}).items()
                    },
                },  # answers whose message shows the server's internals (verdict.reveals)
                "notes": p["notes"],
            }
        )
    reads = raw["final"]["reads"]
    lost = [
        e for e, r in reads.items() if e not in revoked and (r["read"] != 200 or r["me"] != 200)
    ]
    relog = [e for e, r in reads.items() if e in revoked and (r["read"] != 200 or r["me"] != 200)]
    return {
        "baseline": faults[0],  # the warm-up, before any fault
        "faults": faults[1:],
        "all": answers(samples),
        "zoho_limits": zoho_limits(token_log, throttle),
        "tokens_lost": lost,
        "revoked_users": sorted(revoked),
        "revoked_users_failing_after_login": relog,
        "final_reads": reads,
    }


# -- text ----------------------------------------------------------------------------------------


def _kinds(d: dict[str, int], limit: int = 4) -> str:
    if not d:
        return "—"
    items = list(d.items())
    text = ", ".join(f"{k} ×{n}" for k, n in items[:limit])
    return text + (f", +{len(items) - limit} more" if len(items) > limit else "")


def _merged(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    out = dict(a)
    for k, n in b.items():
        out[k] = out.get(k, 0) + n
    return out


def text(report: dict[str, Any]) -> str:
    lines = []
    head = (
        "fault",
        "req",
        "ok",
        "errors by kind (during the fault)",
        "violations (fault + recovery)",
        "refresh req/cred (max)",
        "minted",
        "logins",
        "recover s",
    )
    lines.append(" | ".join(head))
    for f in [report["baseline"], *report["faults"]]:
        d, r = f["during"], f["refreshes_during"]
        logins = (
            ", ".join(
                x["kind"] + ("→ok" if x.get("after_clear", {}).get("ok") else "")
                for x in f["logins"]
            )
            or "—"
        )
        rec = f["recovery_seconds"]
        lines.append(
            " | ".join(
                [
                    f["fault"],
                    str(d["requests"]),
                    str(d["ok"]),
                    _kinds(d["errors_by_kind"]),
                    _kinds(v)
                    if (v := _merged(d["violations"], f["recovery"]["violations"]))
                    else "0",
                    f"{r['max_requests_per_credential']} ({r['requests']} in all)",
                    str(r["minted"]),
                    logins,
                    "n/a" if rec is None else f"{rec:.1f}",
                ]
            )
        )
    z = report["zoho_limits"]
    lines.append(
        f"Zoho limits: at most {z['max_minted_in_600s_per_credential']} tokens minted per "
        f"credential in any 10 minutes of Zoho's clock (limit {z['limit_minted_per_600s']}); "
        f"at most {z['max_requests_in_600s_per_credential']} refresh requests; "
        f"{z['throttled_outside_the_throttle_fault']} throttled outside the throttle fault"
    )
    lines.append(
        f"tokens lost: {len(report['tokens_lost'])}; revoked users failing after logging in "
        f"again: {len(report['revoked_users_failing_after_login'])}"
    )
    return "\n".join(lines)
