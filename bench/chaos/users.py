"""Logged-in users working: logins the way a browser does them, and a bounded load generator.

A `User` is one browser: an `httpx.AsyncClient` on loopback keeping its cookies, copying the
CSRF cookie into `X-CSRF-Token` on a POST. It logs in as `bench.web_load` does (page visit for
the CSRF cookie, `GET /login`, the emulator's consent page, `POST /api/auth/callback`).

`Load` runs `lanes` request loops per user (two loops = two tabs: concurrent requests for one
credential, spread over both workers) until told to stop, after `max_requests` in all, or at its
deadline, whichever comes first. Each loop picks list / get / search / create, sends it, judges
the answer (`verdict.judge`), records a `Sample` and waits a jittered think time.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from zohoauth.emulator import testing

from . import verdict

CSRF_COOKIE = "zohoauth_csrf"
FIELDS = "Last_Name,Email,Company"
#: The mix of operations (weights): mostly reads, some searches, some writes.
MIX = (("list", 40), ("get", 25), ("search", 20), ("create", 15))


@dataclass(slots=True)
class Sample:
    t0: float  # when sent (time.time())
    t1: float  # when answered
    user: int
    op: str
    kind: str  # "200", "503 zoho_unavailable", "no answer (ReadTimeout)", ...
    verdict: str  # verdict.OK / ALLOWED / KNOWN / VIOLATION
    phase: str
    retry_after: str = ""


@dataclass
class User:
    index: int
    email: str
    http: httpx.AsyncClient
    revoked: bool = False  # its grant was revoked at Zoho (revoke-user)
    paused: bool = False  # revoked and not logged in again yet: its loops wait
    ids: list[str] = field(default_factory=list)  # record ids it has seen

    async def post(self, url: str, **kw: Any) -> httpx.Response:
        headers = {"X-CSRF-Token": self.http.cookies.get(CSRF_COOKIE) or ""}
        return await self.http.post(url, headers=headers, **kw)


def new_user(index: int, email: str, app_url: str, timeout: float) -> User:
    http = httpx.AsyncClient(
        base_url=app_url,
        timeout=timeout,
        follow_redirects=False,
        # Idle connections are dropped before uvicorn drops them (5 s), as browsers do, so a
        # request never goes out on a connection the server is closing at that moment.
        limits=httpx.Limits(max_connections=4, max_keepalive_connections=4, keepalive_expiry=3),
    )
    return User(index, email, http)


async def consent_params(user: User) -> dict[str, str]:
    """Start a login and answer Zoho's consent page: the parameters redirect.html would post."""
    (await user.http.get("/")).raise_for_status()
    start = await user.http.get("/login")
    if start.status_code != 302:
        raise RuntimeError(f"/login answered {start.status_code}")
    redirect = await asyncio.to_thread(testing.consent, start.headers["location"], user.email)
    params = dict(redirect.params)
    params["accounts_server"] = params.pop("accounts-server", "")
    return params


async def callback(user: User, params: dict[str, str]) -> httpx.Response:
    return await user.post("/api/auth/callback", json=params)


async def log_in(user: User) -> None:
    """A full login that must succeed (setting up, or logging in again after a fault)."""
    resp = await callback(user, await consent_params(user))
    if resp.status_code != 200:
        raise RuntimeError(f"login of {user.email} answered {resp.status_code}: {resp.text[:300]}")


async def log_in_all(users: list[User], concurrency: int = 8) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(u: User) -> None:
        async with gate:
            await log_in(u)

    await asyncio.gather(*(one(u) for u in users))


class Load:
    """The bounded load (see the module docstring). `phase` labels the samples as they start."""

    def __init__(
        self, users: list[User], *, lanes: int, think: float, max_requests: int, seconds: float
    ) -> None:
        self.users = users
        self.lanes = lanes
        self.think = think
        self.max_requests = max_requests
        self.deadline = time.monotonic() + seconds
        self.phase = "warmup"
        self.samples: list[Sample] = []
        self.messages: dict[str, str] = {}  # the first message seen for each kind of error
        self.revealing: dict[str, dict[str, int]] = {}  # phase -> {kind: answers revealing}
        self.sent = 0
        self._stop = asyncio.Event()
        self._rng = random.Random(12)

    def stop(self) -> None:
        self._stop.set()

    def _more(self) -> bool:
        return (
            not self._stop.is_set()
            and self.sent < self.max_requests
            and time.monotonic() < self.deadline
        )

    async def run(self) -> None:
        await asyncio.gather(*(self._lane(u, n) for u in self.users for n in range(self.lanes)))

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def _lane(self, user: User, lane: int) -> None:
        await self._pause(self.think * self._rng.random())  # spread the start
        ops = [op for op, _ in MIX]
        weights = [w for _, w in MIX]
        while self._more():
            if user.paused:
                await self._pause(0.2)
                continue
            op = self._rng.choices(ops, weights)[0]
            self.sent += 1
            await self.request(user, op)
            await self._pause(self.think * (0.5 + self._rng.random()))

    async def request(self, user: User, op: str) -> Sample:
        """Send one `op` for `user`, judge and record the answer."""
        if op == "get" and not user.ids:
            op = "list"
        # Judged by what was true when it was sent: a request a revoked user sent just before
        # logging in again may be answered just after.
        phase, t0, revoked = self.phase, time.time(), user.revoked
        try:
            resp = await self._send(user, op)
        except httpx.HTTPError as exc:
            kind, verdict_ = verdict.judge_error(exc)
            self.messages.setdefault(kind, str(exc)[:200])
            sample = Sample(t0, time.time(), user.index, op, kind, verdict_, phase)
        else:
            kind, verdict_ = verdict.judge(resp, revoked=revoked, login=False)
            sample = Sample(
                t0,
                time.time(),
                user.index,
                op,
                kind,
                verdict_,
                phase,
                resp.headers.get("retry-after", ""),
            )
            if resp.status_code in (200, 201):
                self._note_ids(user, op, resp)
            else:
                message = verdict.message_of(resp)
                self.messages.setdefault(kind, message)
                if verdict.reveals(message):
                    counts = self.revealing.setdefault(phase, {})
                    counts[kind] = counts.get(kind, 0) + 1
        self.samples.append(sample)
        return sample

    async def _send(self, user: User, op: str) -> httpx.Response:
        if op == "get":
            return await user.http.get(f"/api/records/Leads/{self._rng.choice(user.ids)}")
        if op == "search":
            return await user.http.get(
                "/api/records/Leads/search", params={"word": f"Chaos{user.index}", "per_page": 5}
            )
        if op == "create":
            n = self._rng.randrange(10**6)
            record = {
                "Last_Name": f"Chaos{user.index}",
                "First_Name": f"Lead{n}",
                "Company": "Chaos Testing Ltd",
                "Email": f"lead{n}.u{user.index}@chaos.example.com",
            }
            return await user.post("/api/records/Leads", json={"data": [record]})
        return await user.http.get("/api/records/Leads", params={"fields": FIELDS, "per_page": 10})

    @staticmethod
    def _note_ids(user: User, op: str, resp: httpx.Response) -> None:
        try:
            data = resp.json().get("data") or []
        except ValueError:
            return
        for item in data[:10]:
            if not isinstance(item, dict):
                continue
            rid = item.get("id") or (item.get("details") or {}).get("id")
            if isinstance(rid, str) and rid.isdigit() and rid not in user.ids:
                user.ids.append(rid)
        del user.ids[:-50]
