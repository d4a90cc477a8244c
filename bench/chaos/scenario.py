"""The chaos scenario: logged-in users working while faults come one after another.

One scenario, two sizes (`SIZES`): `ci` for `tests/chaos/test_chaos.py` (20 users, ~10 s per
fault) and `bench` for `python -m bench chaos` (200 users, ~5 minutes). Against `Stack`
(PostgreSQL, the emulator, `serve --workers 2`), `Load` keeps every user working while these
run in turn, each followed by a recovery phase:

1. `accounts_outage` — an hour passes at Zoho (every access token dies, so every user needs a
   refresh) and every accounts server answers 503;
2. `crm_5xx` — 20 % of CRM calls answer 500 INTERNAL_ERROR;
3. `latency_2s` — every accounts and CRM answer takes 2 s longer;
4. `refresh_throttled` — an hour passes and Zoho throttles every refresh ("Access Denied",
   `max_refreshes_per_window` 0). Zoho's throttle lasts its 10-minute window, and the app
   (rightly) keeps off for as long; the run skips that window instead of sleeping through it:
   the emulator's clock moves on 10 minutes and the stored `throttled_until` is moved into the
   past by the same amount (as `tests/web/test_workers.py` moves a stored expiry);
5. `revoke_users` — 10 % of the users remove the app at Zoho; once the fault "clears" they log
   in again;
6. `postgres_restart` — an hour passes at Zoho and, amid the wave of refreshes that follows
   (each made to take a second at Zoho, so some are surely in flight), the store's PostgreSQL
   stops (every connection cut) and starts again a few seconds later.

During each fault `probes` new users log in (their consent is given before an accounts outage,
since the consent page is Zoho's); each failed login is tried once more after the fault clears
and must work then. Recovery is measured from the moment the fault is cleared until every user
has had a successful request sent after it. What the answers must be is `verdict.py`; the
report (`report.py`) adds refresh requests per credential from the emulator's log, the store's
rows and the app's own log.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from . import users as u
from . import verdict
from .stack import Stack

HOUR = 3700  # seconds the emulator's clock moves to expire every access token (TTL 3600 s)
THROTTLE_WINDOW = 600.0  # Zoho's refresh window; the app's `throttle_window`
REFRESH_IN_FLIGHT = 1.0  # seconds a refresh takes at Zoho while PostgreSQL is stopped


@dataclass(frozen=True)
class Size:
    name: str
    users: int
    lanes: int  # concurrent request loops per user
    think: float  # seconds between a loop's requests (jittered 0.5..1.5×)
    warmup: float
    fault_seconds: float
    pg_down: float
    recovery_limit: float  # give up waiting for recovery after this long
    settle: float  # keep watching after recovery (errors then are "late")
    probes: int  # logins attempted during each fault
    max_requests: int
    timeout: float = 30.0  # per request

    @property
    def max_seconds(self) -> float:
        """A hard deadline for the load: every phase at its longest, plus set-up."""
        return self.warmup + 6 * (self.fault_seconds + self.recovery_limit + self.settle) + 120


SIZES = {
    "ci": Size(
        "ci",
        users=20,
        lanes=2,
        think=0.4,
        warmup=3,
        fault_seconds=10,
        pg_down=6,
        recovery_limit=80,
        settle=2,
        probes=2,
        max_requests=40_000,
    ),
    "bench": Size(
        "bench",
        users=200,
        lanes=1,
        think=1.5,
        warmup=10,
        fault_seconds=32,
        pg_down=12,
        recovery_limit=90,
        settle=5,
        probes=3,
        max_requests=300_000,
    ),
}


@dataclass
class Phase:
    name: str
    description: str
    started: float
    cleared: float = 0.0
    recovered_at: float | None = None
    ended: float = 0.0
    logins: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Scenario:
    def __init__(self, stack: Stack, size: Size, say: Callable[[str], None] = print) -> None:
        self.stack = stack
        self.size = size
        self.say = say
        n = size.users
        self.users = [
            u.new_user(i, e, stack.url, size.timeout) for i, e in enumerate(stack.emails[:n])
        ]
        self.spare = [
            u.new_user(n + i, e, stack.url, size.timeout) for i, e in enumerate(stack.emails[n:])
        ]
        self.load: u.Load | None = None
        self.phases: list[Phase] = []
        self.started = 0.0
        self.revoked: set[str] = set()  # emails whose grant was revoked at Zoho

    # -- the run ---------------------------------------------------------------------------
    async def run(self) -> dict[str, Any]:
        s = self.size
        self.started = time.time()
        self.say(f"logging {len(self.users)} users in")
        await u.log_in_all(self.users)
        load = self.load = u.Load(
            self.users,
            lanes=s.lanes,
            think=s.think,
            max_requests=s.max_requests,
            seconds=s.max_seconds,
        )
        task = asyncio.create_task(load.run())
        try:
            warm = Phase("warmup", "no fault", time.time())
            self.phases.append(warm)
            await asyncio.sleep(s.warmup)
            warm.cleared = warm.ended = time.time()
            for step in (
                self.accounts_outage,
                self.crm_5xx,
                self.latency,
                self.refresh_throttled,
                self.revoke_users,
                self.postgres_restart,
            ):
                await step()
                if task.done():
                    break
        finally:
            load.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, s.timeout + 10)
        final = await self.final_check()
        for user in self.users + self.spare:
            await user.http.aclose()
        return {"final": final, "phases": [asdict(p) for p in self.phases]}

    # -- the faults ------------------------------------------------------------------------
    def _admin(self, path: str, body: dict[str, Any]) -> Callable[[], Any]:
        return lambda: self.stack.admin(path, body)

    def _all(self, *steps: Callable[[], Any]) -> Callable[[], None]:
        def run() -> None:
            for step in steps:
                step()

        return run

    async def accounts_outage(self) -> None:
        await self.fault(
            "accounts_outage",
            "an hour passes at Zoho (every token needs a refresh), every accounts server 503",
            # The outage first: the hour passing must not let anyone refresh before it.
            start=self._all(
                self._admin("/_emulator/faults", {"target": "accounts", "outage": True}),
                self._admin("/_emulator/clock", {"advance_seconds": HOUR}),
            ),
            stop=self._admin("/_emulator/faults", {"target": "accounts"}),
            consent_first=True,
        )

    async def crm_5xx(self) -> None:
        await self.fault(
            "crm_5xx",
            "20 % of CRM calls answer 500 INTERNAL_ERROR",
            start=self._admin("/_emulator/faults", {"target": "api", "error_rate": 0.2}),
            stop=self._admin("/_emulator/faults", {"target": "api"}),
        )

    async def latency(self) -> None:
        slow = {"latency_ms": 2000}
        await self.fault(
            "latency_2s",
            "every accounts and CRM answer 2 s late",
            start=self._all(
                self._admin("/_emulator/faults", {"target": "api", **slow}),
                self._admin("/_emulator/faults", {"target": "accounts", **slow}),
            ),
            stop=self._all(
                self._admin("/_emulator/faults", {"target": "api"}),
                self._admin("/_emulator/faults", {"target": "accounts"}),
            ),
        )

    async def refresh_throttled(self) -> None:
        await self.fault(
            "refresh_throttled",
            "an hour passes and Zoho throttles every refresh; its 10-minute window is skipped",
            start=self._all(
                self._admin("/_emulator/config", {"max_refreshes_per_window": 0}),
                self._admin("/_emulator/clock", {"advance_seconds": HOUR}),
            ),
            stop=self._all(
                self._admin("/_emulator/config", {"max_refreshes_per_window": 10}),
                self._admin("/_emulator/clock", {"advance_seconds": THROTTLE_WINDOW}),
                self._skip_app_throttle_window,
            ),
        )

    def _skip_app_throttle_window(self) -> None:
        """What the end of the 10-minute window looks like to the app: the stored throttle
        ends in the past, by as much as Zoho's clock moved on."""
        status = self.stack.sql(
            "UPDATE zohoauth_credentials SET throttled_until = throttled_until - $1 "
            "WHERE throttled_until IS NOT NULL",
            THROTTLE_WINDOW + 1,
        )
        self.phases[-1].notes.append(f"throttle window skipped for {status.split()[-1]} rows")

    async def revoke_users(self) -> None:
        victims = self.users[:: max(1, round(1 / 0.1))][: max(1, math.ceil(len(self.users) / 10))]

        def revoke() -> None:
            for v in victims:
                v.revoked = True
                self.revoked.add(v.email)
                self.stack.admin("/_emulator/revoke-user", {"email": v.email})

        async def log_in_again() -> None:
            for v in victims:
                v.paused = True
            await u.log_in_all(victims)
            for v in victims:
                v.revoked = v.paused = False

        await self.fault(
            "revoke_users",
            f"{len(victims)} of {len(self.users)} users remove the app at Zoho, then log in again",
            start=revoke,
            stop=lambda: None,
            after_clear=log_in_again,
        )
        self.phases[-1].notes.append("revoked: " + ", ".join(v.email for v in victims))

    async def postgres_restart(self) -> None:
        pg = self.stack.pg
        assert pg is not None
        cluster = pg
        down = self.size.pg_down
        slow = {"target": "accounts", "latency_ms": REFRESH_IN_FLIGHT * 1000}

        def restart() -> None:
            # An hour passes at Zoho and every user needs a refresh; each takes a second at
            # Zoho, so the stop, half-way through that second, cuts refreshes that hold the
            # lease and have not written their new token yet (deterministically, not by luck).
            self.stack.admin("/_emulator/faults", slow)
            self.stack.admin("/_emulator/clock", {"advance_seconds": HOUR})
            time.sleep(REFRESH_IN_FLIGHT / 2)
            cluster.restart(down)

        await self.fault(
            "postgres_restart",
            f"an hour passes at Zoho (refreshes take {REFRESH_IN_FLIGHT:g} s there) and amid "
            f"the refreshes PostgreSQL goes down for {down:g} s, then comes back ({pg.mode})",
            start=lambda: None,
            stop=self._admin("/_emulator/faults", {"target": "accounts"}),
            during=restart,
            seconds=down,
        )

    # -- one fault, its login probes and its recovery ------------------------------------
    async def fault(
        self,
        name: str,
        description: str,
        *,
        start: Callable[[], Any],
        stop: Callable[[], Any],
        during: Callable[[], Any] | None = None,
        consent_first: bool = False,
        seconds: float | None = None,
        after_clear: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Inject (`start`, and `during` on a thread for the whole window), keep the fault for
        `seconds` while `probes` log in half-way, clear it (`stop`), then `after_clear`, retry
        the broken logins and measure the recovery. `consent_first`: the probes answer Zoho's
        consent page before `start` (an accounts outage would refuse it)."""
        assert self.load is not None
        seconds = self.size.fault_seconds if seconds is None else seconds
        self.say(f"fault: {name} — {description}")
        phase = Phase(name, description, time.time())
        self.phases.append(phase)
        self.load.phase = name
        probes, self.spare = self.spare[: self.size.probes], self.spare[self.size.probes :]
        consents = (
            await asyncio.gather(*(u.consent_params(p) for p in probes)) if consent_first else None
        )
        await asyncio.to_thread(start)
        began = time.time()
        blocking = asyncio.create_task(asyncio.to_thread(during)) if during else None
        await asyncio.sleep(seconds / 2)
        phase.logins = await self.probe(probes, consents)
        if blocking is not None:
            await blocking
        else:
            await asyncio.sleep(max(0.0, began + seconds - time.time()))
        await asyncio.to_thread(stop)
        phase.cleared = time.time()
        self.load.phase = name + ":recovery"
        if after_clear is not None:
            await after_clear()
        for login in phase.logins:
            if login["status"] != 200:
                login["after_clear"] = await self.login_again(probes[login["probe"]])
        await self.recover(phase)

    async def probe(
        self, probes: list[u.User], consents: list[dict[str, str]] | None
    ) -> list[dict[str, Any]]:
        async def one(i: int, user: u.User) -> dict[str, Any]:
            try:
                params = consents[i] if consents is not None else await u.consent_params(user)
                resp = await u.callback(user, params)
            except Exception as exc:  # the consent itself failed: a fault at Zoho's page
                return {
                    "probe": i,
                    "status": 0,
                    "kind": f"consent failed ({exc})"[:200],
                    "verdict": "n/a",
                }
            kind, verdict_ = verdict.judge(resp, revoked=False, login=True)
            return {
                "probe": i,
                "status": resp.status_code,
                "kind": kind,
                "verdict": verdict_,
                "retry_after": resp.headers.get("retry-after", ""),
                "message": verdict.message_of(resp),
                "reveals": verdict.reveals(verdict.message_of(resp)),
            }

        return list(await asyncio.gather(*(one(i, p) for i, p in enumerate(probes))))

    async def login_again(self, user: u.User) -> dict[str, Any]:
        try:
            await u.log_in(user)
        except Exception as exc:
            return {"ok": False, "error": str(exc)[:300]}
        return {"ok": True}

    async def recover(self, phase: Phase) -> None:
        assert self.load is not None
        samples = self.load.samples
        first = len(samples)
        while first > 0 and samples[first - 1].t0 >= phase.cleared:
            first -= 1
        deadline = phase.cleared + self.size.recovery_limit
        ok_at: dict[int, float] = {}
        scanned = first
        while True:
            for s in samples[scanned:]:
                if s.t0 >= phase.cleared and s.verdict == verdict.OK and s.user not in ok_at:
                    ok_at[s.user] = s.t1
            scanned = len(samples)
            if all(x.index in ok_at for x in self.users) or time.time() > deadline:
                break
            await asyncio.sleep(0.25)
        if all(x.index in ok_at for x in self.users):
            phase.recovered_at = max(ok_at.values())
        else:
            missing = [x.email for x in self.users if x.index not in ok_at]
            phase.notes.append(f"not recovered within {self.size.recovery_limit:g} s: {missing}")
        await asyncio.sleep(self.size.settle)
        phase.ended = time.time()

    # -- after the faults --------------------------------------------------------------------
    async def final_check(self) -> dict[str, Any]:
        """Every user reads with the session it has (the revoked ones after logging in again)."""
        reads: dict[str, Any] = {}
        for user in self.users:
            try:
                got = await user.http.get("/api/records/Leads", params={"per_page": 1})
                me = await user.http.get("/api/me")
                status = (me.json() or {}).get("status") if me.status_code == 200 else None
                reads[user.email] = {
                    "read": got.status_code,
                    "me": me.status_code,
                    "status": status,
                }
            except Exception as exc:
                reads[user.email] = {"read": 0, "me": 0, "status": f"no answer ({exc})"}
        return {"reads": reads}
