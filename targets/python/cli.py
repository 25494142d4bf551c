#!/usr/bin/env python3
"""A LiteLLM-style CLI SSO client in Python, standard library only.

It exists so the conformance suite can be pointed at a CLI written in another language than the
reference one, and one that behaves as LiteLLM's own CLI (`lite` / `litellm-proxy`) does where a
user or a gateway can tell: the same wire calls, the same 2 s poll rhythm with time.sleep, the same
storage, exit code 0 for every login outcome, and the same key preview (`JWT Token: <20 chars>...`).

    python3 cli.py [--base-url URL] login
    python3 cli.py whoami | logout | models list [--format table|json]

The base URL comes from --base-url, else LITELLM_PROXY_URL, else http://localhost:4000; a path in
it is kept (http://host/litellm -> http://host/litellm/sso/cli/start). Against the suite:

    node --import tsx features/main.ts --cli-cmd "python3 targets/python/cli.py" --tags @cli

Storage, as `lite` does it:
* ~/.litellm/token.json (0600, folder 0700): base_url, user_id, user_email, user_role (null: the
  poll answer does not carry them), auth_header_name, timestamp, team_id, and expires_at when the
  gateway sent expires_in.
* The key in a keychain, emulated by ~/.local/share/python_keyring/litellm-cli.json (0600):
  {"litellm-cli": {"credential": "<key>"}}. With PYTHON_KEYRING_BACKEND set to keyring's null (or
  fail) backend there is no keychain, and the key goes into token.json as `key` and `jwt_token`
  (run the suite with --cli-env PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring
  --cli-writes-token-file to judge that file too).
* logout deletes the keychain entry and token.json; without a keychain it removes `key` and
  `jwt_token` and keeps the rest of token.json, as `lite` does.

The functions below are small on purpose: scripts/self-check/broken-cli.py replaces one of them at
a time to make a deliberately broken CLI, so the suite can be shown to catch each fault.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import webbrowser
from pathlib import Path

DEFAULT_BASE_URL = "http://localhost:4000"
# LiteLLM's CLI polls every 2 s for at most 300 s, measured by the wall clock.
POLL_INTERVAL_SECONDS = 2
LOGIN_TIMEOUT_SECONDS = 300
HTTP_TIMEOUT_SECONDS = 15
# A gateway answer is a few hundred bytes; anything past 1 MiB is a broken or hostile gateway and
# reading it all would let it fill our memory.
MAX_ANSWER_BYTES = 1024 * 1024
LOGIN_ID_PATTERN = re.compile(r"^cli-[A-Za-z0-9_-]{12,124}$")
POLL_SECRET_HEADER = "x-litellm-cli-poll-secret"
# A bearer key goes into an HTTP header: visible ASCII only, so a hostile answer cannot smuggle a
# line break (header injection) or a space into our requests.
KEY_PATTERN = re.compile(r"^[\x21-\x7e]+$")

KEYRING_SERVICE = "litellm-cli"
KEYRING_ACCOUNT = "credential"
# keyring's own names for "no usable keychain"; with these LiteLLM writes the key into token.json.
NO_KEYCHAIN_BACKENDS = {"keyring.backends.null.Keyring", "keyring.backends.fail.Keyring"}
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
KEY_PREVIEW_CHARS = 20


# ---- terminal ----------------------------------------------------------------------------------

# C0 controls, DEL, C1 controls (ESC and CSI start terminal escape sequences), and the Unicode
# bidirectional overrides that can make a printed line read differently from what it holds.
_UNSAFE_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(value: object) -> str:
    """A string from the network, made safe for a terminal: control characters become \\x1b-style text."""
    return _UNSAFE_CHARS.sub(_escape_char, value if isinstance(value, str) else str(value))


# ---- secrets in what is printed ------------------------------------------------------------------

# The key and the poll secret, once this run knows them: nothing printed may hold them, whatever they
# contain and however a message carries them (the gateway may repeat them in an error detail).
_SECRETS: set[str] = set()
# Where a secret breaks into pieces that a printer could show one per line: whitespace, control
# characters and the escape sequences they start. Shorter pieces would match ordinary words.
_SECRET_BREAKS = re.compile(
    r"(?:\x1b(?:\[[0-?]*[ -/]*[@-~]?|\][^\x07\x1b]*(?:\x07|\x1b\\)?|.)?|[\s\x00-\x1a\x1c-\x1f\x7f-\x9f])+", re.S
)
MIN_SECRET_PIECE = 6
REDACTED = "[redacted]"


def remember_secret(value: object) -> None:
    if isinstance(value, str) and value:
        _SECRETS.add(value)


def _secret_forms(secret: str) -> set[str]:
    pieces = [p for p in _SECRET_BREAKS.split(secret) if len(p) >= MIN_SECRET_PIECE]
    forms = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
        urllib.parse.quote(secret, safe=""),
        " ".join(secret.split()),
        _SECRET_BREAKS.sub("", secret),
        clean(secret),
        *pieces,
    }
    return {form for form in forms if form}


def redact(text: str) -> str:
    """`text` with every known secret replaced, in any of the forms a message may give it."""
    forms = sorted({form for secret in _SECRETS for form in _secret_forms(secret)}, key=len, reverse=True)
    if not forms:
        return text
    return re.sub("|".join(re.escape(form) for form in forms), REDACTED, text)


def say(text: str = "") -> None:
    # Flushed at once: the harness (and a person on a slow pipe) must see the URL and the code
    # before anything else happens.
    print(redact(text), flush=True)


def warn(text: str) -> None:
    print(redact(text), file=sys.stderr, flush=True)


def mask_key(key: str) -> str:
    """LiteLLM's preview `<first 20>...`; a short key shows at most half of itself."""
    return key[: min(KEY_PREVIEW_CHARS, len(key) // 2)] + "..."


# ---- HTTP --------------------------------------------------------------------------------------


class RequestFailed(Exception):
    """No usable answer: the connection failed, timed out, or the answer was too large."""


class AnswerTooLarge(RequestFailed):
    """The gateway sent more than MAX_ANSWER_BYTES: broken or hostile, not worth asking again."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # urllib would follow a redirect to any host carrying our headers along, poll secret and key
    # included. A redirect is answered to us as the 3xx it is.
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def normalize_base_url(raw: str) -> str:
    """scheme://host[:port][/path] without trailing slashes; the path prefix is kept."""
    parts = urllib.parse.urlsplit(raw.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"the base URL must be an http(s) URL, got {clean(raw)!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"the base URL must have no query or fragment, got {clean(raw)!r}")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def api_url(base_url: str, path: str) -> str:
    """The gateway URL of an API path, under the base URL's own path (http://h/litellm + /models)."""
    return base_url.rstrip("/") + path


def read_capped(response) -> bytes:  # noqa: ANN001
    """The answer body, refusing more than MAX_ANSWER_BYTES or a body that trickles in past the timeout."""
    if getattr(response, "fp", True) is None:
        return b""
    read = getattr(response, "read1", response.read)
    deadline = time.monotonic() + HTTP_TIMEOUT_SECONDS
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = read(64 * 1024)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > MAX_ANSWER_BYTES:
            raise AnswerTooLarge(f"the answer was larger than {MAX_ANSWER_BYTES // 1024 // 1024} MiB; not reading it")
        chunks.append(chunk)
        if time.monotonic() > deadline:
            raise RequestFailed(f"the answer did not arrive within {HTTP_TIMEOUT_SECONDS} s")


def http_request(method: str, url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, method=method, headers={"Accept": "application/json", **(headers or {})})
    try:
        response = _OPENER.open(request, timeout=HTTP_TIMEOUT_SECONDS)
    except urllib.error.HTTPError as error:
        response = error
    except urllib.error.URLError as error:
        raise RequestFailed(clean(error.reason)) from error
    except (OSError, http.client.HTTPException, ValueError) as error:
        raise RequestFailed(clean(error) or type(error).__name__) from error
    try:
        body = read_capped(response)
    except (OSError, http.client.HTTPException) as error:
        raise RequestFailed(clean(error) or type(error).__name__) from error
    finally:
        response.close()
    status = response.code if isinstance(response, urllib.error.HTTPError) else response.status
    return status, body


def parse_json(body: bytes) -> object:
    try:
        return json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        return None


def error_detail(body: bytes) -> str:
    """The gateway's own message: FastAPI's `detail`, OpenAI's `error.message`, or the text itself."""
    parsed = parse_json(body)
    if isinstance(parsed, dict):
        detail = parsed.get("detail")
        if detail is None and isinstance(parsed.get("error"), dict):
            detail = parsed["error"].get("message")
        if detail is not None:
            return clean(detail if isinstance(detail, str) else json.dumps(detail))
    text = " ".join(body.decode("utf-8", "replace").split())
    if not text:
        return "(no message)"
    return clean(text[:200] + ("..." if len(text) > 200 else ""))


# ---- the login session -------------------------------------------------------------------------


class LoginFailed(Exception):
    """A login outcome other than success: printed as `Authentication failed: ...`, exit 0."""


def validate_start(answer: object) -> dict[str, str]:
    """The start answer's fields, or LoginFailed naming what is wrong: nothing is polled or opened."""
    if not isinstance(answer, dict):
        raise LoginFailed("the proxy's answer to /sso/cli/start is not a JSON object")
    login_id = answer.get("login_id")
    if not isinstance(login_id, str) or not LOGIN_ID_PATTERN.match(login_id):
        raise LoginFailed("the proxy sent a login_id that does not match ^cli-[A-Za-z0-9_-]{12,124}$")
    for field in ("poll_secret", "user_code"):
        if not isinstance(answer.get(field), str) or not answer[field]:
            raise LoginFailed(f"the proxy's answer to /sso/cli/start has no {field} string")
    remember_secret(answer["poll_secret"])
    if not KEY_PATTERN.match(answer["poll_secret"]):
        # It goes back in a header: a line break in it would be refused with the value quoted.
        raise LoginFailed("the proxy sent a poll_secret with characters a header cannot carry")
    return {"login_id": login_id, "poll_secret": answer["poll_secret"], "user_code": answer["user_code"]}


def browser_url(base_url: str, start: dict[str, str]) -> str:
    """Always built here from the validated login_id; a URL sent by the gateway is never opened."""
    query = urllib.parse.urlencode({"source": "litellm-cli", "key": start["login_id"]})
    return f"{api_url(base_url, '/sso/key/generate')}?{query}"


def is_safe_browser_url(url: str, base_url: str) -> bool:
    """Only an http(s) URL on the gateway's own origin, with nothing a shell or terminal could misread."""
    if _UNSAFE_CHARS.search(url) or any(c.isspace() for c in url):
        return False
    target, base = urllib.parse.urlsplit(url), urllib.parse.urlsplit(base_url)
    return target.scheme in ("http", "https") and (target.scheme, target.netloc.lower()) == (
        base.scheme,
        base.netloc.lower(),
    )


def show_login(url: str, start: dict[str, str]) -> None:
    # The code comes first: a person compares it with the browser's, and a reader of this output
    # looking for the first XXXX-XXXX cannot mistake a piece of the URL for it.
    say(f"Verification code: {clean(start['user_code'])}")
    say(f"Session id: {clean(start['login_id'])}")
    say("Open this URL in your browser to log in (check that it shows the same code):")
    say(url)


def open_browser(url: str, base_url: str) -> None:
    if not is_safe_browser_url(url, base_url):
        say("Not opening a browser: the login URL is not on the proxy's origin.")
        return
    try:
        # webbrowser honours BROWSER (a command, %s = the URL), as LiteLLM's CLI relies on.
        opened = webbrowser.open(url)
    except Exception:  # noqa: BLE001 - a browser that fails to start must not end the login
        opened = False
    say("Opened the browser." if opened else "Could not open a browser: open the URL above yourself.")


def announce_and_open(url: str, start: dict[str, str], base_url: str) -> None:
    show_login(url, start)
    open_browser(url, base_url)


def poll_request(base_url: str, start: dict[str, str], team_id: str | None) -> tuple[str, dict[str, str]]:
    """URL and headers of one poll: the secret travels in its header only, never in the URL."""
    url = api_url(base_url, f"/sso/cli/poll/{urllib.parse.quote(start['login_id'], safe='')}")
    if team_id is not None:
        url += "?" + urllib.parse.urlencode({"team_id": team_id})
    return url, {POLL_SECRET_HEADER: start["poll_secret"]}


def poll_gives_up(status: int) -> bool:
    """LiteLLM's newer CLI stops at once on a 4xx other than 429; 5xx and 429 are worth waiting out."""
    if status == 429 or 500 <= status <= 599:
        return False
    return True


def team_choices(answer: dict) -> list[tuple[str, str | None]]:
    details = answer.get("team_details")
    choices: list[tuple[str, str | None]] = []
    if isinstance(details, list):
        for item in details:
            if isinstance(item, dict) and isinstance(item.get("team_id"), str):
                alias = item.get("team_alias")
                choices.append((item["team_id"], alias if isinstance(alias, str) else None))
    if not choices and isinstance(answer.get("teams"), list):
        choices = [(team, None) for team in answer["teams"] if isinstance(team, str)]
    return choices


def choose_team(choices: list[tuple[str, str | None]]) -> str:
    """Print the teams as a numbered list and read a number or a team id from stdin."""
    say("You belong to more than one team; choose the team for this key:")
    for number, (team_id, alias) in enumerate(choices, start=1):
        say(f"  {number}. {clean(team_id)}" + (f" ({clean(alias)})" if alias else ""))
    while True:
        print(f"Select a team [1-{len(choices)}]: ", end="", flush=True)
        line = sys.stdin.readline()
        if not line:
            say()
            raise LoginFailed("no team was chosen (end of input)")
        typed = line.strip()
        if typed.isdigit() and 1 <= int(typed) <= len(choices):
            return choices[int(typed) - 1][0]
        for team_id, _alias in choices:
            if typed == team_id:
                return team_id
        say(f"{clean(typed)!r} is not one of the numbers 1-{len(choices)} or a team id above.")


def poll_until_ready(base_url: str, start: dict[str, str]) -> dict:
    deadline = time.time() + LOGIN_TIMEOUT_SECONDS
    team_id: str | None = None
    last_note = ""
    first = True
    while True:
        if not first:
            time.sleep(POLL_INTERVAL_SECONDS)
            if time.time() >= deadline:
                raise LoginFailed(f"the login was not completed within {LOGIN_TIMEOUT_SECONDS} seconds")
        first = False
        url, headers = poll_request(base_url, start, team_id)
        try:
            status, body = http_request("GET", url, headers)
        except AnswerTooLarge as error:
            raise LoginFailed(f"the proxy's answer to the poll could not be used: {error}") from error
        except RequestFailed as error:
            note = f"Could not reach the proxy ({error}); still waiting."
            if note != last_note:
                say(note)
                last_note = note
            continue
        if not 200 <= status <= 299:
            if poll_gives_up(status):
                raise LoginFailed(f"The proxy rejected the login session with HTTP {status}: {error_detail(body)}")
            note = f"The proxy answered HTTP {status}; still waiting."
            if note != last_note:
                say(note)
                last_note = note
            continue
        answer = parse_json(body)
        if not isinstance(answer, dict) or answer.get("status") not in ("pending", "ready"):
            raise LoginFailed('the proxy\'s poll answer is not {"status": "pending" | "ready", ...}')
        if answer["status"] == "pending":
            continue
        if answer.get("requires_team_selection") is True:
            if team_id is not None:
                raise LoginFailed(f"the proxy asked for a team again after team {clean(team_id)} was chosen")
            choices = team_choices(answer)
            if not choices:
                raise LoginFailed("the proxy asked for a team but listed none")
            team_id = choose_team(choices)
            continue
        key = answer.get("key")
        if not isinstance(key, str) or not key:
            raise LoginFailed("the proxy's ready answer has no key")
        remember_secret(key)
        if not KEY_PATTERN.match(key):
            raise LoginFailed("the key the proxy sent has characters a key cannot have")
        return answer


# ---- storage -----------------------------------------------------------------------------------


def token_file() -> Path:
    return Path.home() / ".litellm" / "token.json"


def keychain_file() -> Path:
    # Where keyring's plain-file backends keep their data; one JSON file stands in for the OS
    # keychain: {"litellm-cli": {"credential": "<key>"}}.
    return Path.home() / ".local" / "share" / "python_keyring" / "litellm-cli.json"


def keychain_available() -> bool:
    return os.environ.get("PYTHON_KEYRING_BACKEND", "").strip() not in NO_KEYCHAIN_BACKENDS


def private_dir(path: Path) -> None:
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    os.chmod(path, PRIVATE_DIR_MODE)


def write_private_file(path: Path, data: dict) -> None:
    """Atomically (temp file, fsync, rename), created with its mode so it is never readable by others."""
    private_dir(path.parent)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)  # a leftover of a crashed run; O_EXCL below needs it gone
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)  # exact, whatever the umask
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            fd = -1
            json.dump(data, handle, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        if fd != -1:
            os.close(fd)
        if temporary.exists():
            temporary.unlink()


def read_json_file(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def keychain_get() -> str | None:
    entries = (read_json_file(keychain_file()) or {}).get(KEYRING_SERVICE)
    key = entries.get(KEYRING_ACCOUNT) if isinstance(entries, dict) else None
    return key if isinstance(key, str) and key else None


def keychain_set(key: str) -> None:
    data = read_json_file(keychain_file()) or {}
    entries = data.get(KEYRING_SERVICE) if isinstance(data.get(KEYRING_SERVICE), dict) else {}
    data[KEYRING_SERVICE] = {**entries, KEYRING_ACCOUNT: key}
    write_private_file(keychain_file(), data)


def keychain_delete() -> None:
    data = read_json_file(keychain_file())
    if data is None:
        return
    entries = data.get(KEYRING_SERVICE)
    if isinstance(entries, dict):
        entries.pop(KEYRING_ACCOUNT, None)
        if not entries:
            data.pop(KEYRING_SERVICE)
    if data:
        write_private_file(keychain_file(), data)
    else:
        keychain_file().unlink(missing_ok=True)


def store_login(metadata: dict, key: str) -> str:
    """Save the login as `lite` does; returns the sentence saying where the key went."""
    if keychain_available():
        keychain_set(key)
        write_private_file(token_file(), metadata)
        return f"Key stored in the keychain (service {KEYRING_SERVICE}, {keychain_file()}); login details in {token_file()}."
    write_private_file(token_file(), {**metadata, "key": key, "jwt_token": key})
    return f"Key and login details stored in {token_file()} (no keychain available)."


def load_metadata() -> dict | None:
    return read_json_file(token_file())


def load_key() -> str | None:
    """The stored key: the keychain first, then a key written into token.json without a keychain."""
    if keychain_available():
        key = keychain_get()
        if key:
            remember_secret(key)
            return key
    metadata = load_metadata() or {}
    for field in ("key", "jwt_token"):
        if isinstance(metadata.get(field), str) and metadata[field]:
            remember_secret(metadata[field])
            return metadata[field]
    return None


def forget_login() -> str:
    """Remove the key everywhere it was put; returns what was done."""
    if keychain_available():
        keychain_delete()
        token_file().unlink(missing_ok=True)
        return "Removed the key from the keychain and deleted the token file."
    # LiteLLM's `lite` without a keychain: the key leaves token.json, the rest of the file stays
    # (and a keychain it cannot reach is left as it is).
    metadata = load_metadata()
    if metadata is not None:
        for field in ("key", "jwt_token"):
            metadata.pop(field, None)
        write_private_file(token_file(), metadata)
    return "Removed the key from the token file (no keychain available; the file keeps the rest)."


# ---- commands ----------------------------------------------------------------------------------


def cmd_login(base_url: str) -> int:
    try:
        login(base_url)
    except LoginFailed as failure:
        # LiteLLM's CLI ends every login outcome with exit code 0.
        say(f"Authentication failed: {failure}")
    except KeyboardInterrupt:
        say()
        say("Authentication failed: cancelled")
        return 130
    return 0


def login(base_url: str) -> None:
    try:
        status, body = http_request("POST", api_url(base_url, "/sso/cli/start"))
    except RequestFailed as error:
        raise LoginFailed(f"could not start a login at {base_url}: {error}") from error
    if not 200 <= status <= 299:
        raise LoginFailed(f"the proxy refused to start a login with HTTP {status}: {error_detail(body)}")
    start = validate_start(parse_json(body))
    url = browser_url(base_url, start)
    announce_and_open(url, start, base_url)
    say(f"Waiting for you to finish in the browser (up to {LOGIN_TIMEOUT_SECONDS // 60} minutes)...")
    answer = poll_until_ready(base_url, start)
    key = answer["key"]
    now = int(time.time())
    user_id = answer.get("user_id") if isinstance(answer.get("user_id"), str) else None
    team_id = answer.get("team_id") if isinstance(answer.get("team_id"), str) else None
    metadata: dict[str, object] = {
        "base_url": base_url,
        "user_id": user_id,
        "user_email": answer.get("user_email") if isinstance(answer.get("user_email"), str) else None,
        "user_role": answer.get("user_role") if isinstance(answer.get("user_role"), str) else None,
        "auth_header_name": "Authorization",
        "timestamp": now,
        "team_id": team_id,
    }
    expires_in = answer.get("expires_in")
    if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool) and 0 < expires_in < 10**10:
        metadata["expires_at"] = now + int(expires_in)
    where = store_login(metadata, key)
    say("Login successful")
    say(f"User ID: {clean(user_id) if user_id else '(unknown)'}")
    say(f"Team: {clean(team_id) if team_id else '(none)'}")
    say(f"JWT Token: {clean(mask_key(key))}")
    if "expires_at" in metadata:
        say(f"The key expires at {iso(metadata['expires_at'])}.")
    say(where)


def iso(seconds: object) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(seconds)))  # type: ignore[arg-type]


def duration(seconds: float) -> str:
    seconds = int(abs(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def assumed_lifetime_hours() -> int:
    # Without an expiry from the proxy, LiteLLM's CLI compares the age with the key lifetime the
    # proxy is configured with by default (24 h), overridable by the same variable.
    for name in ("LITELLM_CLI_JWT_EXPIRATION_HOURS", "CLI_JWT_EXPIRATION_HOURS"):
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    return 24


def cmd_whoami() -> int:
    metadata = load_metadata()
    if metadata is None:
        say("Not logged in. Run `login` first.")
        return 1
    key = load_key()
    now = time.time()
    say(f"User: {clean(metadata.get('user_id') or '(unknown)')}")
    for label, field in (("Email", "user_email"), ("Role", "user_role"), ("Team", "team_id")):
        if metadata.get(field):
            say(f"{label}: {clean(metadata[field])}")
    say(f"Proxy: {clean(metadata.get('base_url') or '(unknown)')}")
    timestamp = metadata.get("timestamp")
    if isinstance(timestamp, (int, float)) and not isinstance(timestamp, bool):
        say(f"Logged in at {iso(timestamp)} (token age {duration(now - timestamp)})")
    if not key:
        say("No key is stored (logged out). Run `login` to get one.")
        return 1
    expires_at = metadata.get("expires_at")
    if isinstance(expires_at, (int, float)) and not isinstance(expires_at, bool):
        if now >= expires_at:
            say(f"Key expired at {iso(expires_at)} ({duration(now - expires_at)} ago). Run `login` again.")
        else:
            say(f"Key expires at {iso(expires_at)} (in {duration(expires_at - now)}).")
    elif isinstance(timestamp, (int, float)) and not isinstance(timestamp, bool):
        hours = assumed_lifetime_hours()
        if now - timestamp >= hours * 3600:
            say(f"Key probably expired: it is older than {hours} h (the proxy did not say when it expires).")
        else:
            say(f"Key expiry unknown (the proxy did not say); keys usually last {hours} h.")
    else:
        say("Key expiry unknown.")
    return 0


def cmd_logout() -> int:
    load_key()  # known, so that nothing printed below can show it
    if load_metadata() is None and (not keychain_available() or keychain_get() is None):
        say("Not logged in; nothing to remove.")
        return 0
    say(forget_login())
    say("Logged out.")
    return 0


def auth_headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def cmd_models_list(base_url: str, explicit_base: bool, api_key: str | None, output_format: str) -> int:
    key = api_key
    if key is None:
        metadata = load_metadata() or {}
        stored_base = metadata.get("base_url")
        if not explicit_base and isinstance(stored_base, str):
            base_url = stored_base
        key = load_key()
        if not key:
            warn("Not logged in. Run `login` first.")
            return 1
        if isinstance(stored_base, str) and stored_base.rstrip("/") != base_url.rstrip("/"):
            # The key was issued by another proxy: never hand it to this one.
            warn(f"Not logged in to {base_url} (the stored login is for {clean(stored_base)}). Run `login` first.")
            return 1
    if not KEY_PATTERN.match(key):
        # Sent, it would be refused with the whole value in the error, or split the header.
        where = "the stored key" if api_key is None else "--api-key / LITELLM_PROXY_API_KEY"
        warn(f"Error: {where} has characters a key cannot have (line breaks, spaces, control characters).")
        return 1 if api_key is None else 2
    try:
        status, body = http_request("GET", api_url(base_url, "/models"), auth_headers(key))
    except RequestFailed as error:
        warn(f"Could not list the models at {base_url}: {error}")
        return 1
    if status != 200:
        warn(f"The proxy answered HTTP {status}: {error_detail(body)}")
        if status in (400, 401, 403):
            warn("Run `login` again if the key has expired or was refused.")
        return 1
    answer = parse_json(body)
    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, list):
        warn('The proxy\'s answer to /models has no "data" list.')
        return 1
    if output_format == "json":
        # ensure_ascii turns every control character into a \u escape: safe on a terminal.
        say(json.dumps(answer, indent=2, ensure_ascii=True))
        return 0
    for model in data:
        if isinstance(model, dict) and "id" in model:
            say(clean(model["id"]))
    return 0


def build_parser() -> argparse.ArgumentParser:
    # The global options are accepted before and after the command, as click-based CLIs do.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--base-url", default=argparse.SUPPRESS, help="proxy URL (env LITELLM_PROXY_URL)")
    common.add_argument("--api-key", default=argparse.SUPPRESS, help="key for models list (env LITELLM_PROXY_API_KEY)")
    parser = argparse.ArgumentParser(prog="cli.py", description="LiteLLM CLI SSO client", parents=[common])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("login", parents=[common], help="log in through the browser")
    commands.add_parser("whoami", parents=[common], help="who is logged in (offline)")
    commands.add_parser("logout", parents=[common], help="remove the stored key")
    models = commands.add_parser("models", parents=[common], help="models commands")
    models_commands = models.add_subparsers(dest="models_command", required=True)
    listing = models_commands.add_parser("list", parents=[common], help="list the models the key may use")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    return parser


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    args = build_parser().parse_args(argv)
    explicit = getattr(args, "base_url", None) or os.environ.get("LITELLM_PROXY_URL") or None
    try:
        base_url = normalize_base_url(explicit or DEFAULT_BASE_URL)
    except ValueError as error:
        warn(f"Error: {error}")
        return 2
    api_key = getattr(args, "api_key", None) or os.environ.get("LITELLM_PROXY_API_KEY") or None
    remember_secret(api_key)
    try:
        if args.command == "login":
            return cmd_login(base_url)
        if args.command == "whoami":
            return cmd_whoami()
        if args.command == "logout":
            return cmd_logout()
        return cmd_models_list(base_url, explicit is not None, api_key, args.format)
    except BrokenPipeError:
        # `cli.py models list | head`: the reader left; nothing more to say.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
