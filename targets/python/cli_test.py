#!/usr/bin/env python3
"""Tests of cli.py and of every broken variant, against a LiteLLM-like fake gateway.

    python3 targets/python/cli_test.py        (standard library only)

The CLI runs in-process with time.sleep recorded instead of slept, so a login with several polls
takes milliseconds; one test runs it as a real process to check BROWSER and the output order.
Each broken variant is run against the same fake gateway to show that its fault really fires.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import stat
import subprocess
import sys
import tempfile
import threading
import unittest
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from unittest import mock

HERE = Path(__file__).resolve().parent
CLI_PATH = HERE / "cli.py"
BROKEN_PATH = HERE.parents[1] / "scripts" / "self-check" / "broken-cli.py"

LOGIN_ID = "cli-" + "A1b2_C3d4-E5f6G7h8I9j0K1l2M3n4O5p6"
POLL_SECRET = "poll-secret-" + "s" * 31
USER_CODE = "WXYZ-2345"
KEY = "eyJhbGciOiJIUzI1NiJ9.payload-part-of-the-key.signature-part-of-the-key"
KEY2 = "eyJhbGciOiJIUzI1NiJ9.second-login-payload.second-login-signature"


def load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeGateway:
    """Answers as LiteLLM does (no expires_in unless asked), under an optional path prefix."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.requests: list[dict] = []
        self.start_answer: object = {"login_id": LOGIN_ID, "poll_secret": POLL_SECRET, "user_code": USER_CODE, "expires_in": 600}
        self.start_status = 200
        # Poll answers in order (status, body); the last one repeats.
        self.polls: list[tuple[int, object]] = [(200, {"status": "pending"}), (200, self.ready(KEY))]
        self.team_selection = False
        self.models: tuple[int, object] = (200, {"object": "list", "data": [{"id": "gpt-4o-mini"}, {"id": "claude-3-haiku"}]})
        self.poll_count = 0
        self.lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                gateway.handle(self, "POST")

            def do_GET(self) -> None:
                gateway.handle(self, "GET")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{prefix}"

    @staticmethod
    def ready(key: str, **extra: object) -> dict:
        return {"status": "ready", "key": key, "user_id": "cli-test-user", "team_id": None, "teams": [], "team_details": [], **extra}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urllib.parse.urlsplit(handler.path)
        with self.lock:
            self.requests.append({"method": method, "path": handler.path, "headers": {k.lower(): v for k, v in handler.headers.items()}})
        path = parts.path
        if not path.startswith(self.prefix + "/"):
            return self.send(handler, 404, {"detail": "Not Found"})
        path = path[len(self.prefix) :]
        query = urllib.parse.parse_qs(parts.query)
        if method == "POST" and path == "/sso/cli/start":
            return self.send(handler, self.start_status, self.start_answer)
        if method == "GET" and path == f"/sso/cli/poll/{LOGIN_ID}":
            if handler.headers.get("x-litellm-cli-poll-secret") != POLL_SECRET:
                return self.send(handler, 403, {"detail": "Invalid CLI polling secret"})
            with self.lock:
                index = min(self.poll_count, len(self.polls) - 1)
                self.poll_count += 1
            status, body = self.polls[index]
            if self.team_selection and status == 200 and isinstance(body, dict) and body.get("status") == "ready":
                team = query.get("team_id", [None])[0]
                details = [{"team_id": "team-a", "team_alias": "Alpha"}, {"team_id": "team-b", "team_alias": "Beta\x1b[31m"}]
                if team is None:
                    body = {"status": "ready", "user_id": "cli-test-user", "teams": ["team-a", "team-b"], "team_details": details, "requires_team_selection": True}
                else:
                    body = {**body, "team_id": team}
            return self.send(handler, status, body)
        if method == "GET" and path == "/models":
            return self.send(handler, *self.models)
        return self.send(handler, 404, {"detail": "Not Found"})

    @staticmethod
    def send(handler: BaseHTTPRequestHandler, status: int, body: object) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        try:
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def polls_made(self) -> list[dict]:
        return [r for r in self.requests if "/sso/cli/poll/" in r["path"]]


class Run:
    def __init__(self, code: int, out: str, err: str, sleeps: list[float], opened: list[tuple[str, str]]) -> None:
        self.code, self.out, self.err, self.sleeps, self.opened = code, out, err, sleeps, opened


class CliCase(unittest.TestCase):
    keychain = True

    def setUp(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="pycli-home-"))
        self.gateway = FakeGateway()
        self.addCleanup(self.gateway.close)

    def tearDown(self) -> None:
        subprocess.run(["rm", "-rf", str(self.home)], check=False)

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHON_KEYRING_BACKEND", "LITELLM_PROXY_API_KEY")}
        env.update(HOME=str(self.home), LITELLM_PROXY_URL=self.gateway.url)
        if not self.keychain:
            env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
        env.update(extra)
        return env

    def run_cli(self, *argv: str, cli: ModuleType | None = None, stdin: str = "", **env: str) -> Run:
        cli = cli or load(CLI_PATH, "pycli_under_test")
        sleeps: list[float] = []
        opened: list[tuple[str, str]] = []
        out, err = io.StringIO(), io.StringIO()

        def fake_open(url: str) -> bool:
            opened.append((url, out.getvalue()))
            return True

        with mock.patch.dict(os.environ, self.env(**env), clear=True), mock.patch.object(cli.time, "sleep", sleeps.append), mock.patch.object(
            cli.webbrowser, "open", fake_open
        ), mock.patch.object(sys, "stdin", io.StringIO(stdin)), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(list(argv))
        return Run(code, out.getvalue(), err.getvalue(), sleeps, opened)

    def token(self) -> dict:
        return json.loads((self.home / ".litellm" / "token.json").read_text())

    def keychain_data(self) -> dict:
        return json.loads((self.home / ".local/share/python_keyring/litellm-cli.json").read_text())

    def mode(self, path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)


class LoginTest(CliCase):
    def test_login_prints_url_code_and_session_before_the_browser_and_stores_the_key_in_the_keychain(self) -> None:
        run = self.run_cli("login")
        self.assertEqual(run.code, 0, run.out)
        url = f"{self.gateway.url}/sso/key/generate?source=litellm-cli&key={LOGIN_ID}"
        self.assertEqual([u for u, _ in run.opened], [url])
        printed_before = run.opened[0][1]
        for text in (url, USER_CODE, LOGIN_ID):
            self.assertIn(text, printed_before)
        self.assertIn("Login successful", run.out)
        self.assertIn(f"JWT Token: {KEY[:20]}...", run.out)
        self.assertNotIn(KEY[20:], run.out)
        self.assertNotIn(POLL_SECRET, run.out)
        self.assertEqual(run.sleeps, [2])
        token = self.token()
        self.assertNotIn("key", token)
        self.assertEqual(token["base_url"], self.gateway.url)
        self.assertEqual(token["user_id"], "cli-test-user")
        self.assertEqual(token["auth_header_name"], "Authorization")
        self.assertEqual(token["expires_at"] - token["timestamp"], 600) if "expires_at" in token else None
        self.assertEqual(self.keychain_data(), {"litellm-cli": {"credential": KEY}})
        self.assertEqual(self.mode(self.home / ".litellm/token.json"), 0o600)
        self.assertEqual(self.mode(self.home / ".local/share/python_keyring/litellm-cli.json"), 0o600)
        self.assertEqual(self.mode(self.home / ".litellm"), 0o700)
        for poll in self.gateway.polls_made():
            self.assertNotIn(POLL_SECRET, poll["path"])
            self.assertEqual(poll["headers"]["x-litellm-cli-poll-secret"], POLL_SECRET)

    def test_expires_in_is_kept_and_works_without(self) -> None:
        self.gateway.polls = [(200, FakeGateway.ready(KEY, expires_in=3600))]
        self.run_cli("login")
        token = self.token()
        self.assertEqual(token["expires_at"] - token["timestamp"], 3600)
        self.gateway.polls = [(200, FakeGateway.ready(KEY))]
        self.gateway.poll_count = 0
        self.run_cli("login")
        self.assertNotIn("expires_at", self.token())

    def test_a_path_prefix_is_kept_everywhere(self) -> None:
        self.gateway.close()
        self.gateway = FakeGateway(prefix="/litellm")
        run = self.run_cli("login")
        self.assertIn("Login successful", run.out)
        self.assertTrue(run.opened[0][0].startswith(f"{self.gateway.url}/sso/key/generate?"))
        self.assertTrue(all(r["path"].startswith("/litellm/") for r in self.gateway.requests))
        models = self.run_cli("models", "list")
        self.assertEqual(models.out.split(), ["gpt-4o-mini", "claude-3-haiku"])

    def test_a_bad_start_answer_stops_before_polling_or_opening(self) -> None:
        for answer in (
            {"login_id": "sk-1234", "poll_secret": "x", "user_code": "ABCD-EFGH"},
            {"login_id": "cli-abc", "poll_secret": "x", "user_code": "ABCD-EFGH"},
            {"login_id": "cli-../../evil/xxxxxxxx", "poll_secret": "x", "user_code": "ABCD-EFGH"},
            {"login_id": LOGIN_ID, "user_code": "ABCD-EFGH"},
            {"login_id": LOGIN_ID, "poll_secret": "x", "user_code": 12345678},
            ["not", "an", "object"],
        ):
            self.gateway.start_answer = answer
            self.gateway.requests.clear()
            run = self.run_cli("login")
            self.assertEqual(run.code, 0)
            self.assertIn("Authentication failed:", run.out)
            self.assertEqual(run.opened, [])
            self.assertEqual(self.gateway.polls_made(), [])

    def test_a_verification_uri_from_the_gateway_is_never_opened(self) -> None:
        self.gateway.start_answer = {**self.gateway.start_answer, "verification_uri_complete": "javascript:alert(1)"}  # type: ignore[dict-item]
        run = self.run_cli("login")
        self.assertEqual([u for u, _ in run.opened], [f"{self.gateway.url}/sso/key/generate?source=litellm-cli&key={LOGIN_ID}"])

    def test_transient_answers_keep_polling_every_2_s(self) -> None:
        self.gateway.polls = [(503, {"detail": "busy"}), (429, {"detail": "slow down"}), (500, b"oops"), (200, {"status": "pending"}), (200, FakeGateway.ready(KEY))]
        run = self.run_cli("login")
        self.assertIn("Login successful", run.out)
        self.assertEqual(run.sleeps, [2, 2, 2, 2])

    def test_a_4xx_stops_at_once_with_litellms_wording_and_exit_0(self) -> None:
        for status, detail in ((400, "Invalid CLI login session"), (403, "Invalid CLI polling secret"), (404, "Not Found")):
            self.gateway.polls = [(200, {"status": "pending"}), (status, {"detail": detail})]
            self.gateway.poll_count = 0
            run = self.run_cli("login")
            self.assertEqual(run.code, 0)
            self.assertIn(f"The proxy rejected the login session with HTTP {status}: {detail}", run.out)
            self.assertIn("Authentication failed:", run.out)
            self.assertEqual(run.sleeps, [2])
            self.assertFalse((self.home / ".litellm/token.json").exists())

    def test_a_connection_error_keeps_polling_and_the_wall_clock_ends_the_login(self) -> None:
        cli = load(CLI_PATH, "pycli_timeout")
        clock = iter(range(0, 10_000, 100))
        self.gateway.polls = [(200, {"status": "pending"})]
        with mock.patch.object(cli.time, "time", lambda: float(next(clock))):
            run = self.run_cli("login", cli=cli)
        self.assertEqual(run.code, 0)
        self.assertIn("Authentication failed: the login was not completed within 300 seconds", run.out)
        # A gateway that went away: every poll fails, the CLI goes on until its deadline.
        dead = FakeGateway()
        dead.close()
        self.gateway.start_answer = self.gateway.start_answer
        cli = load(CLI_PATH, "pycli_dead")
        real_request = cli.http_request
        calls: list[str] = []

        def request(method: str, url: str, headers: dict | None = None):
            calls.append(url)
            if "/poll/" in url:
                return real_request(method, url.replace(self.gateway.url, dead.url), headers)
            return real_request(method, url, headers)

        clock = iter(range(0, 10_000, 50))
        with mock.patch.object(cli, "http_request", request), mock.patch.object(cli.time, "time", lambda: float(next(clock))):
            run = self.run_cli("login", cli=cli)
        self.assertIn("Could not reach the proxy", run.out)
        self.assertIn("not completed within 300 seconds", run.out)
        self.assertGreater(len(calls), 3)

    def test_an_oversized_answer_is_not_read(self) -> None:
        self.gateway.polls = [(200, b'{"status": "pending", "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}')]
        run = self.run_cli("login")
        self.assertIn("larger than 1 MiB", run.out)

    def test_team_selection_reads_stdin_and_polls_with_the_chosen_team(self) -> None:
        self.gateway.team_selection = True
        self.gateway.polls = [(200, FakeGateway.ready(KEY))]
        run = self.run_cli("login", stdin="7\nnope\n2\n")
        self.assertIn("  1. team-a (Alpha)", run.out)
        self.assertIn("  2. team-b (Beta\\x1b[31m)", run.out)
        self.assertNotIn("\x1b", run.out)
        self.assertEqual(run.out.count("Select a team [1-2]: "), 3)
        self.assertEqual(self.token()["team_id"], "team-b")
        self.assertTrue(self.gateway.polls_made()[-1]["path"].endswith("?team_id=team-b"))
        self.assertIn("Team: team-b", run.out)

    def test_team_selection_by_id_and_eof(self) -> None:
        self.gateway.team_selection = True
        self.gateway.polls = [(200, FakeGateway.ready(KEY))]
        run = self.run_cli("login", stdin="team-a\n")
        self.assertEqual(self.token()["team_id"], "team-a")
        self.gateway.poll_count = 0
        (self.home / ".litellm/token.json").unlink()
        run = self.run_cli("login", stdin="")
        self.assertEqual(run.code, 0)
        self.assertIn("Authentication failed: no team was chosen", run.out)
        self.assertFalse((self.home / ".litellm/token.json").exists())

    def test_network_strings_are_printed_without_escape_sequences(self) -> None:
        self.gateway.polls = [(200, {**FakeGateway.ready(KEY), "user_id": "evil\x1b]0;pwned\x07\x9b31m", "team_id": "t\x1b[2J"})]
        run = self.run_cli("login")
        self.gateway.models = (200, {"data": [{"id": "model\x1b[31mred"}]})
        models = self.run_cli("models", "list")
        self.gateway.polls = [(200, {"status": "pending"}), (400, {"detail": "bad\x1b[0m\r\nforged line"})]
        self.gateway.poll_count = 0
        failed = self.run_cli("login")
        whoami = self.run_cli("whoami")
        for output in (run.out, models.out, failed.out, whoami.out):
            self.assertNotRegex(output.replace("\n", ""), "[\x00-\x1f\x7f-\x9f]")
        self.assertIn("evil\\x1b]0;pwned\\x07\\x9b31m", run.out)
        self.assertIn("model\\x1b[31mred", models.out)
        self.assertIn("bad\\x1b[0m\\x0d\\x0aforged line", failed.out)

    def test_a_key_with_a_line_break_is_refused(self) -> None:
        self.gateway.polls = [(200, FakeGateway.ready("abc\r\nX-Injected: 1"))]
        run = self.run_cli("login")
        self.assertIn("Authentication failed: the key the proxy sent has characters", run.out)

    def test_redirects_are_not_followed(self) -> None:
        self.gateway.start_status = 302
        run = self.run_cli("login")
        self.assertIn("Authentication failed: the proxy refused to start a login with HTTP 302", run.out)


class AfterLoginTest(CliCase):
    def test_models_list_whoami_logout(self) -> None:
        self.gateway.polls = [(200, FakeGateway.ready(KEY, expires_in=86400))]
        self.run_cli("login")
        models = self.run_cli("models", "list")
        self.assertEqual(models.code, 0)
        self.assertEqual(models.out.split(), ["gpt-4o-mini", "claude-3-haiku"])
        self.assertEqual(self.gateway.requests[-1]["headers"]["authorization"], f"Bearer {KEY}")
        as_json = self.run_cli("models", "list", "--format", "json")
        self.assertEqual([m["id"] for m in json.loads(as_json.out)["data"]], ["gpt-4o-mini", "claude-3-haiku"])
        whoami = self.run_cli("whoami")
        self.assertEqual(whoami.code, 0)
        self.assertIn("cli-test-user", whoami.out)
        self.assertIn("Key expires at", whoami.out)
        self.assertNotIn("expired", whoami.out.lower())
        cli = load(CLI_PATH, "pycli_later")
        later = self.token()["timestamp"] + 25 * 3600
        with mock.patch.object(cli.time, "time", lambda: float(later)):
            expired = self.run_cli("whoami", cli=cli)
        self.assertIn("Key expired at", expired.out)
        logout = self.run_cli("logout")
        self.assertEqual(logout.code, 0)
        self.assertIn("Logged out", logout.out)
        self.assertFalse((self.home / ".litellm/token.json").exists())
        self.assertFalse((self.home / ".local/share/python_keyring/litellm-cli.json").exists())
        after = self.run_cli("models", "list")
        self.assertEqual(after.code, 1)
        self.assertIn("Not logged in", after.err)

    def test_whoami_without_expiry_uses_the_age(self) -> None:
        self.run_cli("login")
        self.assertIn("Key expiry unknown", self.run_cli("whoami").out)
        cli = load(CLI_PATH, "pycli_age")
        later = self.token()["timestamp"] + 25 * 3600
        with mock.patch.object(cli.time, "time", lambda: float(later)):
            self.assertIn("expired", self.run_cli("whoami", cli=cli).out)

    def test_a_second_login_replaces_the_key(self) -> None:
        self.run_cli("login")
        self.gateway.polls = [(200, FakeGateway.ready(KEY2))]
        self.gateway.poll_count = 0
        self.run_cli("login")
        self.run_cli("models", "list")
        self.assertEqual(self.gateway.requests[-1]["headers"]["authorization"], f"Bearer {KEY2}")

    def test_the_key_is_not_sent_to_another_proxy(self) -> None:
        self.run_cli("login")
        other = FakeGateway()
        self.addCleanup(other.close)
        run = self.run_cli("models", "list", LITELLM_PROXY_URL=other.url)
        self.assertEqual(run.code, 1)
        self.assertEqual(other.requests, [])

    def test_not_logged_in(self) -> None:
        self.assertEqual(self.run_cli("models", "list").code, 1)
        self.assertEqual(self.run_cli("whoami").code, 1)
        self.assertEqual(self.run_cli("logout").code, 0)

    def test_models_list_errors_exit_1(self) -> None:
        self.run_cli("login")
        self.gateway.models = (400, {"error": {"message": "Authentication Error - Expired Key.", "type": "expired_key"}})
        run = self.run_cli("models", "list")
        self.assertEqual(run.code, 1)
        self.assertIn("Expired Key", run.err)


class SecretsTest(CliCase):
    """A key or poll secret never shows in what the CLI prints, whatever it holds or repeats it."""

    PIECES = ["sk-Q8vTz1LmN0pRw3", "XyB5cD7eF9gHJ2kL", "4mN6pQ8rS0tU1vW3", "xY5zA7bCdE9fG2hK"]
    ODD = f"{PIECES[0]}\n{PIECES[1]} {PIECES[2]}\t\x1b[2J{PIECES[3]}"

    def assert_no_piece(self, output: str, pieces: list[str]) -> None:
        self.assertEqual([p for p in pieces if p in output], [], output)

    def test_an_api_key_with_a_line_break_is_refused_unsent_and_never_echoed(self) -> None:
        by_flag = self.run_cli("models", "list", "--api-key", self.ODD)
        by_env = self.run_cli("models", "list", LITELLM_PROXY_API_KEY=self.ODD)
        for run in (by_flag, by_env):
            self.assertEqual(run.code, 2)
            self.assertIn("has characters a key cannot have", run.err)
            self.assert_no_piece(run.out + run.err, self.PIECES)
        self.assertEqual(self.gateway.requests, [])

    def test_a_gateway_repeating_the_key_in_an_error_detail(self) -> None:
        self.run_cli("login")
        self.gateway.models = (401, {"detail": f"invalid Authorization 'Bearer {KEY}' ({json.dumps(KEY)})"})
        run = self.run_cli("models", "list")
        self.assertEqual(run.code, 1)
        self.assertIn("invalid Authorization 'Bearer [redacted]'", run.err)
        self.assert_no_piece(run.out + run.err, [KEY])

    def test_a_ready_key_with_a_line_break_is_never_shown(self) -> None:
        self.gateway.polls = [(200, FakeGateway.ready(self.ODD))]
        run = self.run_cli("login")
        self.assertIn("Authentication failed: the key the proxy sent has characters", run.out)
        self.assert_no_piece(run.out + run.err, self.PIECES)

    def test_a_poll_secret_with_a_line_break_stops_before_polling(self) -> None:
        self.gateway.start_answer = {**self.gateway.start_answer, "poll_secret": self.ODD}  # type: ignore[dict-item]
        run = self.run_cli("login")
        self.assertIn("poll_secret with characters a header cannot carry", run.out)
        self.assert_no_piece(run.out + run.err, self.PIECES)
        self.assertEqual(self.gateway.polls_made(), [])
        self.assertEqual(run.opened, [])

    def test_a_gateway_repeating_the_poll_secret_in_its_details(self) -> None:
        echo = {"detail": f"unknown poll secret {POLL_SECRET}"}
        self.gateway.polls = [(503, echo), (403, echo)]
        run = self.run_cli("login")
        self.assertIn("HTTP 403: unknown poll secret [redacted]", run.out)
        self.assert_no_piece(run.out + run.err, [POLL_SECRET])


class NoKeychainTest(CliCase):
    keychain = False

    def test_the_key_goes_into_token_json_and_logout_keeps_the_file(self) -> None:
        self.run_cli("login")
        token = self.token()
        self.assertEqual((token["key"], token["jwt_token"]), (KEY, KEY))
        self.assertFalse((self.home / ".local/share/python_keyring").exists())
        self.assertEqual(self.mode(self.home / ".litellm/token.json"), 0o600)
        self.assertEqual(self.run_cli("models", "list").code, 0)
        self.assertEqual(self.gateway.requests[-1]["headers"]["authorization"], f"Bearer {KEY}")
        self.assertEqual(self.run_cli("logout").code, 0)
        token = self.token()
        self.assertNotIn("key", token)
        self.assertNotIn("jwt_token", token)
        self.assertEqual(token["user_id"], "cli-test-user")
        self.assertEqual(self.run_cli("models", "list").code, 1)


class RealProcessTest(CliCase):
    def test_browser_variable_and_output_order(self) -> None:
        log = self.home / "browser.log"
        catcher = self.home / "catcher.sh"
        # The catcher records the URL and how much the CLI had printed when it was run.
        catcher.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> "{log}"\n')
        catcher.chmod(0o755)
        self.gateway.polls = [(200, FakeGateway.ready(KEY))]
        out = self.home / "out.txt"
        with out.open("w") as stdout:
            code = subprocess.run(
                [sys.executable, str(CLI_PATH), "login"],
                env=self.env(BROWSER=f"'{catcher}' %s"),
                stdout=stdout,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=30,
            ).returncode
        self.assertEqual(code, 0)
        url = f"{self.gateway.url}/sso/key/generate?source=litellm-cli&key={LOGIN_ID}"
        self.assertEqual(log.read_text(), url + "\n")
        text = out.read_text()
        self.assertLess(text.index(url), text.index("Opened the browser."))
        self.assertLess(text.index(USER_CODE), text.index(url))


class BrokenVariantsTest(CliCase):
    """Each variant's fault fires against the fake gateway (and the unbroken CLI does not have it)."""

    def broken(self, variant: str) -> ModuleType:
        broken = load(BROKEN_PATH, "broken_cli")
        return broken.broken_cli(variant)

    def test_the_list_names_at_least_the_required_variants(self) -> None:
        out = subprocess.run([sys.executable, str(BROKEN_PATH), "--list"], capture_output=True, text=True, check=True).stdout
        names = [line.split()[0] for line in out.splitlines()]
        self.assertGreaterEqual(len(names), 14)
        for name in ("secret-in-query", "polls-too-fast", "keeps-polling-after-400", "key-world-readable", "prints-key",
                     "ignores-team-choice", "keeps-no-key", "browser-before-url", "follows-any-url", "drops-prefix",
                     "passes-escapes", "unbounded-read", "no-bearer", "logout-keeps-key", "sends-stale-key",
                     "echoes-secrets", "raw-whoami", "retries-oversize"):
            self.assertIn(name, names)

    def test_secret_in_query(self) -> None:
        self.gateway.polls = [(200, FakeGateway.ready(KEY))]
        self.run_cli("login", cli=self.broken("secret-in-query"))
        poll = self.gateway.polls_made()[0]
        self.assertIn(f"poll_secret={POLL_SECRET}", poll["path"])
        self.assertNotIn("x-litellm-cli-poll-secret", poll["headers"])

    def test_polls_too_fast(self) -> None:
        self.assertEqual(self.run_cli("login", cli=self.broken("polls-too-fast")).sleeps, [0.1])

    def test_keeps_polling_after_400(self) -> None:
        self.gateway.polls = [(400, {"detail": "Invalid CLI login session"})]
        cli = self.broken("keeps-polling-after-400")
        clock = iter(range(0, 10_000, 60))
        with mock.patch.object(cli.time, "time", lambda: float(next(clock))):
            self.run_cli("login", cli=cli)
        self.assertGreater(len(self.gateway.polls_made()), 2)

    def test_key_world_readable(self) -> None:
        self.run_cli("login", cli=self.broken("key-world-readable"))
        self.assertEqual(self.mode(self.home / ".litellm/token.json"), 0o644)

    def test_prints_key(self) -> None:
        self.assertIn(KEY, self.run_cli("login", cli=self.broken("prints-key")).out)

    def test_ignores_team_choice(self) -> None:
        self.gateway.team_selection = True
        self.gateway.polls = [(200, FakeGateway.ready(KEY))]
        self.run_cli("login", cli=self.broken("ignores-team-choice"), stdin="2\n")
        self.assertEqual(self.token()["team_id"], "team-a")

    def test_keeps_no_key(self) -> None:
        run = self.run_cli("login", cli=self.broken("keeps-no-key"))
        self.assertIn("Login successful", run.out)
        self.assertFalse((self.home / ".litellm/token.json").exists())

    def test_browser_before_url(self) -> None:
        run = self.run_cli("login", cli=self.broken("browser-before-url"))
        self.assertEqual(run.opened[0][1], "")

    def test_follows_any_url(self) -> None:
        self.gateway.start_answer = {**self.gateway.start_answer, "verification_uri_complete": "javascript:alert(1)"}  # type: ignore[dict-item]
        run = self.run_cli("login", cli=self.broken("follows-any-url"))
        self.assertEqual(run.opened[0][0], "javascript:alert(1)")

    def test_drops_prefix(self) -> None:
        self.gateway.close()
        self.gateway = FakeGateway(prefix="/litellm")
        run = self.run_cli("login", cli=self.broken("drops-prefix"))
        self.assertEqual(self.gateway.requests[0]["path"], "/sso/cli/start")
        self.assertIn("Authentication failed", run.out)

    def test_passes_escapes(self) -> None:
        self.gateway.polls = [(200, {**FakeGateway.ready(KEY), "user_id": "evil\x1b[31m"})]
        self.assertIn("evil\x1b[31m", self.run_cli("login", cli=self.broken("passes-escapes")).out)

    def test_unbounded_read(self) -> None:
        self.gateway.polls = [(200, b'{"status": "pending", "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'), (200, FakeGateway.ready(KEY))]
        run = self.run_cli("login", cli=self.broken("unbounded-read"))
        self.assertIn("Login successful", run.out)

    def test_no_bearer(self) -> None:
        self.run_cli("login")
        self.run_cli("models", "list", cli=self.broken("no-bearer"))
        headers = self.gateway.requests[-1]["headers"]
        self.assertNotIn("authorization", headers)
        self.assertEqual(headers["x-api-key"], KEY)

    def test_logout_keeps_key(self) -> None:
        self.run_cli("login")
        self.assertIn("Logged out", self.run_cli("logout", cli=self.broken("logout-keeps-key")).out)
        self.assertEqual(self.run_cli("models", "list").code, 0)
        self.assertEqual(self.gateway.requests[-1]["headers"]["authorization"], f"Bearer {KEY}")

    def test_sends_stale_key(self) -> None:
        cli = self.broken("sends-stale-key")
        self.run_cli("login", cli=cli)
        self.gateway.polls = [(200, FakeGateway.ready(KEY2))]
        self.gateway.poll_count = 0
        self.run_cli("login", cli=cli)
        self.run_cli("models", "list", cli=cli)
        self.assertEqual(self.gateway.requests[-1]["headers"]["authorization"], f"Bearer {KEY}")

    def test_echoes_secrets(self) -> None:
        self.run_cli("login")
        self.gateway.models = (401, {"detail": f"invalid key {KEY}"})
        self.assertIn(KEY, self.run_cli("models", "list", cli=self.broken("echoes-secrets")).err)

    def test_raw_whoami(self) -> None:
        self.gateway.polls = [(200, FakeGateway.ready(KEY, user_email="e@x.example\x1b]0;t\x07"))]
        self.run_cli("login")
        self.assertIn("\x1b]0;t\x07", self.run_cli("whoami", cli=self.broken("raw-whoami")).out)

    def test_retries_oversize(self) -> None:
        self.gateway.polls = [(200, b'{"status": "pending", "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'), (200, FakeGateway.ready(KEY))]
        run = self.run_cli("login", cli=self.broken("retries-oversize"))
        self.assertIn("Login successful", run.out)
        self.assertEqual(len(self.gateway.polls_made()), 2)

    def test_whoami_key_in_url(self) -> None:
        self.run_cli("login")
        self.run_cli("whoami", cli=self.broken("whoami-key-in-url"))
        self.assertIn(f"/key/info?key={KEY}", self.gateway.requests[-1]["path"])

    def test_gives_up_early(self) -> None:
        self.gateway.polls = [(200, {"status": "pending"})]
        cli = self.broken("gives-up-early")
        clock = iter(range(0, 10_000, 20))
        with mock.patch.object(cli.time, "time", lambda: float(next(clock))):
            run = self.run_cli("login", cli=cli)
        self.assertIn("within 30 seconds", run.out)
        self.assertLess(len(self.gateway.polls_made()), 3)

    def test_unknown_variant_exits_2(self) -> None:
        run = subprocess.run([sys.executable, str(BROKEN_PATH), "no-such-fault", "whoami"], capture_output=True, text=True)
        self.assertEqual(run.returncode, 2)


if __name__ == "__main__":
    unittest.main()
