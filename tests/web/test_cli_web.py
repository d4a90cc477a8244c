"""`zohoauth demo` and `zohoauth serve` as a user runs them: real processes, real ports."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from zohoauth.cli import app

from ..support.web import Browser, free_port, zohoauth_command

READY = "zohoauth demo ready: "


class Demo:
    """A `zohoauth demo` subprocess; `ready()` waits for its ready line."""

    def __init__(
        self,
        data_dir: Path,
        cwd: Path,
        ports: tuple[int, int] | None = None,
        global_args: tuple[str, ...] = (),
    ) -> None:
        self.port, self.emulator_port = ports or (free_port(), free_port())
        self.url = f"http://127.0.0.1:{self.port}"
        self.emulator_url = f"http://127.0.0.1:{self.emulator_port}"
        args = [
            *zohoauth_command(),
            *global_args,
            "demo",
            "--port",
            str(self.port),
            "--emulator-port",
            str(self.emulator_port),
            "--data-dir",
            str(data_dir),
            "--no-browser",
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZOHOAUTH_")}
        self.proc = subprocess.Popen(
            args,
            cwd=cwd,
            env={**env, "COLUMNS": "200"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        assert self.proc.stdout is not None
        stream = self.proc.stdout
        self._reader = threading.Thread(
            target=lambda: self.lines.extend(iter(stream.readline, "")), daemon=True
        )
        self._reader.start()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(line.startswith(READY) for line in self.lines):
            assert self.proc.poll() is None, f"demo exited early:\n{self.output}"
            assert time.monotonic() < deadline, f"no ready line:\n{self.output}"
            time.sleep(0.05)

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        """The first output line containing `text` (the demo keeps running meanwhile)."""
        deadline = time.monotonic() + timeout
        while True:
            found = next((line for line in list(self.lines) if text in line), None)
            if found is not None:
                return found
            assert self.proc.poll() is None, f"demo exited:\n{self.output}"
            assert time.monotonic() < deadline, f"no line with {text!r}:\n{self.output}"
            time.sleep(0.05)

    def signal(self, sig: int) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=30)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


@pytest.fixture
def demos(tmp_path: Path) -> Iterator[list[Demo]]:
    started: list[Demo] = []
    yield started
    for demo in started:
        demo.kill()


def test_demo_runs_the_app_on_the_emulator_and_a_second_run_reuses_the_data_dir(
    tmp_path: Path, demos: list[Demo]
) -> None:
    data = tmp_path / "data"
    first = Demo(data, tmp_path)
    demos.append(first)
    first.ready()
    out = first.output
    assert f"{READY}{first.url}\n" in first.lines
    for email in ("ava@zylker.com", "clara@brightwave.eu", "dev@sunrise.in"):
        assert email in out  # the seeded accounts, to type on the consent page
    china = next(line for line in first.lines if "li@dragongate.cn" in line)
    assert 'sign in with "Zoho China (zoho.com.cn)"' in china  # China's own sign-in
    assert "Zoho China" not in next(line for line in first.lines if "isla@" in line)
    assert first.url in out.split(READY)[0]  # the URL is printed before the ready line
    for name in ("encryption.key", "session.secret"):
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600
    key = (data / "encryption.key").read_text()
    assert key.strip() not in out

    browser = Browser(first.url)
    try:
        assert browser.get("/").status_code == 200
        assert browser.login("clara@brightwave.eu")["me"]["dc"] == "eu"
        assert browser.get("/api/records/Leads").status_code == 200
        cookies = dict(browser.cookies.items())
    finally:
        browser.close()
    assert first.signal(signal.SIGINT) == 0  # Ctrl-C: a clean stop
    assert "stopped" in first.output

    second = Demo(data, tmp_path, (first.port, first.emulator_port))
    demos.append(second)
    second.ready()
    assert (data / "encryption.key").read_text() == key  # the same key, the same store
    # The new emulator never issued the stored tokens: the app says so, and asks to reconnect.
    with httpx.Client(base_url=second.url, cookies=cookies, timeout=15) as http:
        assert http.get("/api/me").json()["email"] == "clara@brightwave.eu"
        answer = http.get("/api/records/Leads")
        assert answer.status_code == 401
        assert answer.json()["error"] == "reauth_required"
        assert http.get("/api/me").json()["needs_reconnect"] is True
    assert second.signal(signal.SIGTERM) == 0


def test_demo_refuses_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(
            app, ["demo", "--port", str(port), "--data-dir", str(tmp_path), "--no-browser"]
        )
    assert result.exit_code == 1
    assert f"port {port}" in result.output
    assert "--port" in result.output


def test_serve_explains_missing_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    for name in list(os.environ):
        if name.startswith("ZOHOAUTH_"):
            monkeypatch.delenv(name)
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 1
    for name in ("ZOHOAUTH_CLIENT_ID", "ZOHOAUTH_ENCRYPTION_KEYS", "ZOHOAUTH_SESSION_SECRET"):
        assert name in result.output

    monkeypatch.setenv("ZOHOAUTH_CLIENT_ID", "1000.X")
    monkeypatch.setenv("ZOHOAUTH_CLIENT_SECRET", "secret-value")
    monkeypatch.setenv("ZOHOAUTH_ENCRYPTION_KEYS", "not-a-key")
    monkeypatch.setenv("ZOHOAUTH_SESSION_SECRET", "s" * 32)
    monkeypatch.setenv("ZOHOAUTH_REDIRECT_URI", "https://app.example/callback")
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 1
    assert "/redirect.html" in result.output
    monkeypatch.setenv("ZOHOAUTH_REDIRECT_URI", "https://app.example/redirect.html")
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 1
    assert "ZOHOAUTH_ENCRYPTION_KEYS" in result.output
    assert "secret-value" not in result.output


@pytest.fixture
def serve_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Valid settings for `serve` in the environment, and uvicorn.run replaced by a recorder:
    `serve` checks everything and hands over to uvicorn, which does not start. What `serve`
    leaves behind in this process (the variables it sets for its workers, its log handler) is
    undone afterwards."""
    from zohoauth.crypto import KeyRing

    monkeypatch.chdir(tmp_path)  # no .env here
    for name in ("ZOHOAUTH_LOG_FORMAT", "ZOHOAUTH_LOG_LEVEL"):  # so that teardown drops them
        monkeypatch.setenv(name, "")
    for name in list(os.environ):
        if name.startswith("ZOHOAUTH_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ZOHOAUTH_CLIENT_ID", "1000.X")
    monkeypatch.setenv("ZOHOAUTH_CLIENT_SECRET", "secret-value")
    monkeypatch.setenv("ZOHOAUTH_ENCRYPTION_KEYS", KeyRing.generate_key())
    monkeypatch.setenv("ZOHOAUTH_SESSION_SECRET", "s" * 32)
    monkeypatch.setenv("ZOHOAUTH_DATA_DIR", str(tmp_path / "data"))
    ran: dict[str, Any] = {}

    def record(target: str, **options: Any) -> None:
        ran.update(options, target=target)

    monkeypatch.setattr("uvicorn.run", record)
    root = logging.getLogger()
    level = root.level
    yield ran
    root.handlers = [h for h in root.handlers if h.get_name() != "zohoauth"]
    root.setLevel(level)


@pytest.mark.parametrize(
    ("uri", "allowed"),
    [
        ("https://app.example/redirect.html", True),
        ("http://127.0.0.1:8000/redirect.html", True),
        ("http://127.8.9.10:8000/redirect.html", True),
        ("http://localhost:8000/redirect.html", True),
        ("http://[::1]:8000/redirect.html", True),
        ("http://app.example/redirect.html", False),
        ("http://10.0.0.5:8000/redirect.html", False),
        ("http://[2001:db8::1]/redirect.html", False),
    ],
)
def test_serve_refuses_a_plain_http_redirect_uri_off_loopback(
    serve_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch, uri: str, allowed: bool
) -> None:
    monkeypatch.setenv("ZOHOAUTH_REDIRECT_URI", uri)
    result = CliRunner().invoke(app, ["serve", "--migrate"])
    if allowed:
        assert result.exit_code == 0, result.output
        assert serve_env["target"] == "zohoauth.web.app:app_factory"
        # Slow clients timed out in every worker; proxy headers believed from no one.
        assert serve_env["http"] == "zohoauth.web.server:HeaderTimeoutProtocol"
        assert serve_env["timeout_keep_alive"] == 5
        assert serve_env["proxy_headers"] is False
        return
    assert result.exit_code == 1
    assert serve_env == {}  # uvicorn never started
    said = " ".join(result.output.split())
    assert f"ZOHOAUTH_REDIRECT_URI {uri} is plain http" in said
    assert "no Secure flag, no HSTS" in said
    assert "--insecure-http" in said and "ZOHOAUTH_INSECURE_HTTP=true" in said
    assert "loopback (127.0.0.0/8, ::1, localhost)" in said


def test_serve_runs_plain_http_off_loopback_only_when_told(
    serve_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZOHOAUTH_REDIRECT_URI", "http://app.example/redirect.html")
    flagged = CliRunner().invoke(app, ["serve", "--migrate", "--insecure-http"])
    assert flagged.exit_code == 0, flagged.output
    assert serve_env.pop("target") == "zohoauth.web.app:app_factory"
    monkeypatch.setenv("ZOHOAUTH_INSECURE_HTTP", "true")
    by_setting = CliRunner().invoke(app, ["serve", "--migrate"])
    assert by_setting.exit_code == 0, by_setting.output
    assert serve_env["target"] == "zohoauth.web.app:app_factory"


def test_demo_honours_the_global_log_level_and_format(tmp_path: Path, demos: list[Demo]) -> None:
    """`zohoauth --log-level DEBUG --log-format json demo`: the demo used to log at WARNING
    whatever it was told, so the access log and debug lines never showed."""
    demo = Demo(
        tmp_path / "data", tmp_path, global_args=("--log-level", "DEBUG", "--log-format", "json")
    )
    demos.append(demo)
    demo.ready()
    assert httpx.get(f"{demo.url}/healthz", headers={"X-Request-ID": "log-level-probe"}).is_success
    access = json.loads(demo.wait_for('"log-level-probe"'))
    assert access["event"] == "request" and access["path"] == "/healthz"
    assert access["level"] == "info"
    assert any('"level": "debug"' in line for line in demo.lines)
    assert demo.signal(signal.SIGTERM) == 0


def test_demo_stays_quiet_by_default(tmp_path: Path, demos: list[Demo]) -> None:
    demo = Demo(tmp_path / "data", tmp_path)
    demos.append(demo)
    demo.ready()
    assert httpx.get(f"{demo.url}/healthz", headers={"X-Request-ID": "quiet-probe"}).is_success
    assert demo.signal(signal.SIGTERM) == 0
    assert "quiet-probe" not in demo.output  # no access log below WARNING


@pytest.mark.parametrize(
    ("global_args", "env_level", "serve_args", "level", "fmt"),
    [
        ((), None, (), "info", "console"),
        (("--log-level", "DEBUG"), None, (), "debug", "console"),
        (("--log-format", "json"), None, (), "info", "json"),
        ((), "ERROR", (), "error", "console"),
        (("--log-level", "DEBUG"), "ERROR", (), "debug", "console"),
        (("--log-level", "DEBUG"), None, ("--log-level", "warning"), "warning", "console"),
    ],
)
def test_serve_takes_the_log_level_from_its_flag_the_global_flag_or_the_environment(
    serve_env: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    global_args: tuple[str, ...],
    env_level: str | None,
    serve_args: tuple[str, ...],
    level: str,
    fmt: str,
) -> None:
    from zohoauth.web.app import LOG_FORMAT_ENV, LOG_LEVEL_ENV

    if env_level:
        monkeypatch.setenv("ZOHOAUTH_LOG_LEVEL", env_level)
    result = CliRunner().invoke(app, [*global_args, "serve", "--migrate", *serve_args])
    assert result.exit_code == 0, result.output
    assert serve_env["log_level"] == level  # uvicorn's own loggers
    assert os.environ[LOG_LEVEL_ENV] == level.upper()  # what each worker configures
    assert os.environ[LOG_FORMAT_ENV] == fmt


def test_serve_moves_metrics_to_their_own_port_for_its_one_worker(
    serve_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ZOHOAUTH_METRICS_PORT", "ZOHOAUTH_METRICS_HOST"):  # serve sets them: undo
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    one = CliRunner().invoke(app, ["serve", "--migrate", "--metrics-port", "9464"])
    assert one.exit_code == 0, one.output
    assert os.environ["ZOHOAUTH_METRICS_PORT"] == "9464"  # what app_factory reads
    assert os.environ["ZOHOAUTH_METRICS_HOST"] == "127.0.0.1"
    serve_env.clear()
    many = CliRunner().invoke(
        app, ["serve", "--migrate", "--metrics-port", "9464", "--workers", "2"]
    )
    assert many.exit_code == 2
    assert serve_env == {}  # uvicorn never started
    assert "ZOHOAUTH_METRICS_TOKEN" in " ".join(many.output.split())
