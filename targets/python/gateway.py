#!/usr/bin/env python3
"""A LiteLLM-style CLI SSO gateway in Python 3 (standard library only).

This is a test target for the conformance suite: it exists to show that the suite can judge a
gateway written in another language, and to behave the way LiteLLM behaves where LiteLLM differs
from the reference gateway of this repository:

* CLI keys are opaque `sk-...` strings (an HMAC-signed payload), not JWTs;
* the ready poll answer has no `expires_in`;
* `Prefer: wait=N` is ignored: every poll is answered at once;
* login flows and users live in this process (dicts behind a lock) unless REDIS_URL is set, in
  which case both live in Redis, spoken to over a plain socket, so that replicas share them
  (DATABASE_URL is ignored: this target has no SQL database);
* wrong verification codes are not counted (LiteLLM has no attempt limit).

Run: python3 gateway.py --port 4000 --config config.yaml   (see README.md next to this file)
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import html
import http.client
import json
import math
import os
import re
import secrets
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# ---------------------------------------------------------------------------------------------
# Constants of the login contract
# ---------------------------------------------------------------------------------------------

FLOW_TTL_SECONDS = 600
LOGIN_ID_RE = re.compile(r"cli-[A-Za-z0-9_-]{12,124}", re.ASCII)
USER_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
USER_CODE_LENGTH = 8
CLI_SOURCE = "litellm-cli"
CLI_STATE_PREFIX = "litellm-session-token:"
POLL_SECRET_HEADER = "x-litellm-cli-poll-secret"
START_LIMIT = 30
START_WINDOW_SECONDS = 60
UI_SESSION_SECONDS_EXPERIMENTAL = 600
UI_LOGIN_STATE_SECONDS = 600
UI_SESSION_COOKIE = "litellm_ui_session"
UI_STATE_COOKIE = "litellm_ui_login_state"
MAX_BODY_BYTES = 1024 * 1024
IDP_TIMEOUT_SECONDS = 10
MAX_METADATA_STRING = 1024

MSG_INVALID_SESSION = "Invalid CLI login session"
MSG_NOT_READY = "CLI login is not ready"
MSG_INVALID_CODE = "Invalid verification code"
MSG_INVALID_POLL_SECRET = "Invalid CLI polling secret"
MSG_TOO_MANY_STARTS = "Too many CLI login attempts. Try again later."

KNOWN_ROLES = (
    "proxy_admin",
    "proxy_admin_viewer",
    "org_admin",
    "internal_user",
    "internal_user_viewer",
    "team",
    "customer",
)
DEFAULT_ROLE = "internal_user_viewer"

BLOCKED_KEY_WORDS = (
    "access_token",
    "api_key",
    "client_secret",
    "id_token",
    "password",
    "private_key",
    "refresh_token",
    "secret",
    "token",
)
DESTINATION_KEY_RE = re.compile(r"[A-Za-z0-9_.-]+", re.ASCII)
NUMERIC_STRING_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?", re.ASCII)


# ---------------------------------------------------------------------------------------------
# Logging: one JSON line per event on stderr; callers never pass secrets in.
# ---------------------------------------------------------------------------------------------

_log_lock = threading.Lock()


def log(event: str, **fields) -> None:
    line = json.dumps({"time": round(time.time(), 3), "event": event, **fields}, default=str)
    with _log_lock:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


# ---------------------------------------------------------------------------------------------
# LiteLLM's config.yaml. The harness writes it in YAML's JSON form (every JSON document is YAML),
# so the standard library's json module reads it; this target accepts nothing else.
# ---------------------------------------------------------------------------------------------


class ConfigFileError(Exception):
    """The config file cannot be used; the message names where and why."""


def _list_of_mappings(document, key):
    """(index, entry) for each entry of the optional list `key`, each entry a mapping."""
    entries = document.get(key)
    if entries is not None and not isinstance(entries, list):
        raise ConfigFileError(f"{key} must be a list")
    for index, entry in enumerate(entries or []):
        if not isinstance(entry, dict):
            raise ConfigFileError(f"{key}[{index}] must be a mapping")
        yield index, entry

def read_models_file(path: str):
    """(models, teams) from a LiteLLM config.yaml; raises ConfigFileError naming the problem."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigFileError(f"cannot be read ({error.__class__.__name__})") from None
    try:
        document = json.loads(text) if text.strip() else None
    except json.JSONDecodeError as error:
        raise ConfigFileError(
            f"line {error.lineno}: not YAML in its JSON form, the only form this target reads ({error.msg})"
        ) from None
    if document is None:
        return [], []
    if not isinstance(document, dict):
        raise ConfigFileError("the top level must be a mapping (model_list: ...)")
    models = []
    for index, entry in _list_of_mappings(document, "model_list"):
        name = entry.get("model_name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigFileError(f"model_list[{index}].model_name must be a non-empty string")
        params = entry.get("litellm_params")
        if params is not None and not isinstance(params, dict):
            raise ConfigFileError(f"model_list[{index}].litellm_params must be a mapping")
        model = (params or {}).get("model")
        if model is not None and not isinstance(model, str):
            raise ConfigFileError(f"model_list[{index}].litellm_params.model must be a string")
        slash = model.find("/") if model else -1
        models.append({"name": name.strip(), "owned_by": model[:slash] if slash > 0 else "litellm"})
    teams = []
    for index, entry in _list_of_mappings(document, "teams"):
        team_id = entry.get("team_id")
        if not isinstance(team_id, str) or not team_id.strip():
            raise ConfigFileError(f"teams[{index}].team_id must be a non-empty string")
        alias = entry.get("team_alias")
        if alias is not None and not isinstance(alias, str):
            raise ConfigFileError(f"teams[{index}].team_alias must be a string")
        team_models = entry.get("models")
        if team_models is not None and (
            not isinstance(team_models, list) or not all(isinstance(m, str) for m in team_models)
        ):
            raise ConfigFileError(f"teams[{index}].models must be a list of model names")
        teams.append({"team_id": team_id.strip(), "team_alias": alias, "models": team_models})
    return models, teams


# ---------------------------------------------------------------------------------------------
# Configuration, read and checked once at start-up
# ---------------------------------------------------------------------------------------------


class Config:
    pass


def _env(env, name):
    """A variable's value, or None when unset or blank (a blank value means 'not configured')."""
    value = env.get(name)
    return value if value is not None and value.strip() != "" else None


def _describe(name, value):
    secret_like = name.endswith(("_KEY", "_SECRET")) or name == "REDIS_URL"
    return f"<{len(value)} characters>" if secret_like else json.dumps(value)


def parse_duration_seconds(text: str):
    match = re.fullmatch(r"\s*([0-9]+)\s*([smhdSMHD]?)\s*", text)
    if not match:
        return None
    factor = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2).lower()]
    seconds = int(match.group(1)) * factor
    return seconds if seconds > 0 else None


def split_list(value):
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def load_config(args, env):
    """Returns (config, problems); every problem names the variable, the rule and the value."""
    problems = []
    cfg = Config()

    def problem(name, rule, value=None):
        problems.append(f"{name}: {rule}" + ("" if value is None else f" (got {_describe(name, value)})"))

    def boolean(name, default):
        value = _env(env, name)
        if value is None:
            return default
        word = value.strip().lower()
        if word in ("true", "false"):
            return word == "true"
        problem(name, "must be true or false (any case)", value)
        return default

    def hours(name):
        value = _env(env, name)
        if value is None:
            return None
        if not re.fullmatch(r"[0-9]+", value.strip()) or not 1 <= int(value.strip()) <= 24 * 365 * 10:
            problem(name, "must be a whole number of hours from 1 to 87600", value)
            return None
        return int(value.strip())

    def url(name, required):
        value = _env(env, name)
        if value is None:
            if required:
                problem(name, "is required")
            return None
        parsed = urllib.parse.urlsplit(value.strip())
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            problem(name, "must be an absolute http(s) URL", value)
            return None
        return value.strip()

    cfg.host = args.host or _env(env, "HOST") or "127.0.0.1"
    port_text = str(args.port) if args.port is not None else (_env(env, "PORT") or "4000")
    if re.fullmatch(r"[0-9]+", port_text.strip()) and int(port_text) <= 65535:
        cfg.port = int(port_text)
    else:
        problem("--port" if args.port is not None else "PORT", "must be a port number from 0 to 65535", port_text)
        cfg.port = 4000

    base = args.base_url or _env(env, "PROXY_BASE_URL")
    cfg.public_base_url = None
    if base is not None:
        parsed = urllib.parse.urlsplit(base.strip())
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            problem("PROXY_BASE_URL", "must be an absolute http(s) URL", base)
        else:
            cfg.public_base_url = base.strip().rstrip("/")

    cfg.master_key = (_env(env, "LITELLM_MASTER_KEY") or "").strip()
    if not cfg.master_key:
        problem("LITELLM_MASTER_KEY", "is required")
    salt = _env(env, "LITELLM_SALT_KEY")
    cfg.signing_secret = (salt.strip() if salt else cfg.master_key).encode("utf-8")
    cfg.experimental_ui_login = boolean("EXPERIMENTAL_UI_LOGIN", False)

    # LiteLLM looks at CLI_JWT_EXPIRATION_HOURS before LITELLM_CLI_JWT_EXPIRATION_HOURS, so with both
    # set the short name wins; each one is still checked.
    short_hours = hours("CLI_JWT_EXPIRATION_HOURS")
    long_hours = hours("LITELLM_CLI_JWT_EXPIRATION_HOURS")
    cfg.key_lifetime_seconds = (short_hours or long_hours or 24) * 3600

    ui_duration = _env(env, "LITELLM_UI_SESSION_DURATION") or "24h"
    ui_seconds = parse_duration_seconds(ui_duration)
    if ui_seconds is None:
        problem("LITELLM_UI_SESSION_DURATION", "must be a duration such as 30m, 24h, 7d or a number of seconds",
                ui_duration)
        ui_seconds = 86400
    cfg.ui_session_seconds = UI_SESSION_SECONDS_EXPERIMENTAL if cfg.experimental_ui_login else ui_seconds

    raw_map = _env(env, "CLI_SSO_CLAIM_MAP")
    if raw_map is None:
        raw_map = _env(env, "LITELLM_CLI_SSO_CLAIM_MAP")
    cfg.claim_map = parse_claim_map(raw_map)

    cfg.client_id = (_env(env, "GENERIC_CLIENT_ID") or "").strip()
    if not cfg.client_id:
        problem("GENERIC_CLIENT_ID", "is required")
    secret = _env(env, "GENERIC_CLIENT_SECRET")
    cfg.client_secret = secret.strip() if secret else None
    cfg.authorization_endpoint = url("GENERIC_AUTHORIZATION_ENDPOINT", True)
    cfg.token_endpoint = url("GENERIC_TOKEN_ENDPOINT", True)
    cfg.userinfo_endpoint = url("GENERIC_USERINFO_ENDPOINT", True)
    scope = _env(env, "GENERIC_SCOPE") or "openid email profile"
    cfg.scope = " ".join(part for part in re.split(r"[\s,]+", scope) if part)
    cfg.use_pkce = boolean("GENERIC_CLIENT_USE_PKCE", False)
    cfg.client_id_in_body = boolean("GENERIC_INCLUDE_CLIENT_ID", False)

    def attribute(name, default):
        value = _env(env, name)
        return value.strip() if value else default

    cfg.attr_user_id = attribute("GENERIC_USER_ID_ATTRIBUTE", "preferred_username")
    cfg.attr_email = attribute("GENERIC_USER_EMAIL_ATTRIBUTE", "email")
    cfg.attr_display_name = attribute("GENERIC_USER_DISPLAY_NAME_ATTRIBUTE", "sub")
    cfg.attr_first_name = attribute("GENERIC_USER_FIRST_NAME_ATTRIBUTE", None)
    cfg.attr_last_name = attribute("GENERIC_USER_LAST_NAME_ATTRIBUTE", None)
    cfg.attr_role = attribute("GENERIC_USER_ROLE_ATTRIBUTE", "role")
    cfg.attr_teams = attribute("GENERIC_USER_TEAMS_ATTRIBUTE", "teams")
    cfg.extra_attributes = split_list(env.get("GENERIC_USER_EXTRA_ATTRIBUTES"))

    cfg.allowed_domains = []
    for domain in split_list(env.get("ALLOWED_EMAIL_DOMAINS")):
        domain = domain.lstrip("@").lower()
        if not re.fullmatch(r"[a-z0-9.-]+", domain):
            problem("ALLOWED_EMAIL_DOMAINS", "each entry must be a domain name such as example.com", domain)
        cfg.allowed_domains.append(domain)

    cfg.redis = None
    redis_url = _env(env, "REDIS_URL")
    if redis_url is not None:
        try:
            cfg.redis = parse_redis_url(redis_url.strip())
        except ValueError as error:
            problem("REDIS_URL", str(error), redis_url)

    cfg.models, cfg.teams = [], []
    config_path = args.config or _env(env, "CONFIG_FILE_PATH")
    if config_path:
        try:
            cfg.models, cfg.teams = read_models_file(config_path)
        except ConfigFileError as error:
            problem("CONFIG_FILE_PATH", f"{config_path}: {error}")

    cfg.key_mac_key = derive_key(cfg.signing_secret, "cli-key")
    cfg.ui_session_key = derive_key(cfg.signing_secret, "ui-session")
    cfg.ui_state_key = derive_key(cfg.signing_secret, "ui-login-state")
    cfg.master_key_digest = hashlib.sha256(cfg.master_key.encode("utf-8")).digest()
    return cfg, problems


def claim_map_warnings(cfg):
    warnings = []
    for source, destination in cfg.claim_map:
        reason = destination_problem(destination)
        if reason:
            warnings.append(f"destination {destination!r} is dropped: {reason}")
        if source not in cfg.extra_attributes:
            warnings.append(f"source {source!r} is not captured by GENERIC_USER_EXTRA_ATTRIBUTES")
    return warnings


# ---------------------------------------------------------------------------------------------
# Secrets, keys and signed cookies
# ---------------------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str):
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text, re.ASCII) or len(text) % 4 == 1:
        return None
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        return None


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def matches_hash(presented, stored_hex) -> bool:
    if not presented or not stored_hex:
        return False
    return hmac.compare_digest(sha256_hex(presented), stored_hex)


def derive_key(secret: bytes, purpose: str) -> bytes:
    # One secret, several independent keys: a UI cookie can never pass as a CLI key.
    return hmac.new(secret, b"litellm-python-target:" + purpose.encode("ascii"), hashlib.sha256).digest()


def normalize_user_code(text: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", text.upper())


def new_user_code() -> str:
    return "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))


KEY_PREFIX = "sk-"
KEY_VERSION = b"\x01"
TAG_BYTES = 32


def issue_key(cfg, user_id, team_id, role):
    """An opaque key: sk- + base64url(version, JSON payload, HMAC-SHA256 tag over both).

    The payload carries no secret (user, team, role, times); the tag keyed by the signing secret
    makes it unforgeable, and a new signing secret makes every older key fail the check.
    """
    # Milliseconds, not whole seconds: rounding the issue time down would end the key up to a
    # second before its full lifetime, rounding up would stretch it.
    issued = round(time.time(), 3)
    payload = {
        "sub": user_id,
        "team_id": team_id,
        "role": role,
        "iat": issued,
        "exp": round(issued + cfg.key_lifetime_seconds, 3),
        "jti": secrets.token_urlsafe(12),
    }
    body = KEY_VERSION + json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8")
    tag = hmac.new(cfg.key_mac_key, body, hashlib.sha256).digest()
    return KEY_PREFIX + b64url(body + tag), payload


def verify_key(cfg, key):
    """('ok', payload) | ('expired', payload) | ('invalid', None)."""
    if not key.startswith(KEY_PREFIX):
        return "invalid", None
    raw = b64url_decode(key[len(KEY_PREFIX) :])
    if raw is None or len(raw) <= TAG_BYTES + 1 or raw[:1] != KEY_VERSION:
        return "invalid", None
    body, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
    if not hmac.compare_digest(hmac.new(cfg.key_mac_key, body, hashlib.sha256).digest(), tag):
        return "invalid", None
    try:
        payload = json.loads(body[1:].decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return "invalid", None
    exp = payload.get("exp") if isinstance(payload, dict) else None
    if not isinstance(exp, (int, float)) or isinstance(exp, bool):
        return "invalid", None
    # The wall clock is read on every check (never a time cached at start-up).
    if time.time() >= exp:
        return "expired", payload
    return "ok", payload


def sign_cookie(key: bytes, payload: dict) -> str:
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return b64url(body) + "." + b64url(hmac.new(key, body, hashlib.sha256).digest())


def read_cookie_value(key: bytes, value):
    if not value or value.count(".") != 1:
        return None
    body_text, tag_text = value.split(".")
    body, tag = b64url_decode(body_text), b64url_decode(tag_text)
    if body is None or tag is None:
        return None
    if not hmac.compare_digest(hmac.new(key, body, hashlib.sha256).digest(), tag):
        return None
    try:
        payload = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("exp"), int):
        return None
    if time.time() >= payload["exp"]:
        return None
    return payload


# ---------------------------------------------------------------------------------------------
# Redis, spoken over a plain socket (RESP2)
# ---------------------------------------------------------------------------------------------


class StoreUnavailable(Exception):
    pass


def parse_redis_url(text):
    parsed = urllib.parse.urlsplit(text)
    if parsed.scheme not in ("redis", "rediss"):
        raise ValueError("must start with redis:// or rediss://")
    try:
        port = parsed.port or 6379
    except ValueError:
        raise ValueError("has an invalid port") from None
    if not parsed.hostname:
        raise ValueError("must name a host")
    database = parsed.path.strip("/") or "0"
    if not database.isdigit():
        raise ValueError("the path, when given, must be a database number")
    return {
        "host": parsed.hostname,
        "port": port,
        "tls": parsed.scheme == "rediss",
        "username": urllib.parse.unquote(parsed.username) if parsed.username else None,
        "password": urllib.parse.unquote(parsed.password) if parsed.password else None,
        "db": int(database),
    }


class RedisError(Exception):
    pass


class Redis:
    """One connection, one command at a time (a lock); reconnects after any failure."""

    TIMEOUT = 3.0

    def __init__(self, settings):
        self.settings = settings
        self.lock = threading.Lock()
        self.sock = None
        self.reader = None

    def _connect(self):
        s = self.settings
        sock = socket.create_connection((s["host"], s["port"]), timeout=self.TIMEOUT)
        if s["tls"]:
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=s["host"])
        self.sock, self.reader = sock, sock.makefile("rb")
        if s["password"] is not None:
            auth = ["AUTH", s["username"], s["password"]] if s["username"] else ["AUTH", s["password"]]
            self._roundtrip(auth)
        if s["db"]:
            self._roundtrip(["SELECT", str(s["db"])])

    def _close(self):
        for thing in (self.reader, self.sock):
            try:
                if thing is not None:
                    thing.close()
            except OSError:
                pass
        self.sock = self.reader = None

    def _roundtrip(self, args):
        parts = [b"*%d\r\n" % len(args)]
        for arg in args:
            data = arg if isinstance(arg, bytes) else str(arg).encode("utf-8")
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self.sock.sendall(b"".join(parts))
        return self._reply()

    def _line(self):
        line = self.reader.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("connection closed by Redis")
        return line[:-2]

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode("utf-8", "replace")
        if kind == b"-":
            raise RedisError(rest.decode("utf-8", "replace").split(" ", 1)[0])
        if kind == b":":
            return int(rest)
        if kind == b"$":
            length = int(rest)
            if length < 0:
                return None
            data = self.reader.read(length + 2)
            if len(data) != length + 2:
                raise ConnectionError("connection closed by Redis")
            return data[:-2]
        if kind == b"*":
            count = int(rest)
            return None if count < 0 else [self._reply() for _ in range(count)]
        raise ConnectionError("unexpected reply from Redis")

    def command(self, *args):
        with self.lock:
            # A connection that sat idle may have been closed by the server: one retry, only then.
            attempts = 2 if self.sock is not None else 1
            for attempt in range(attempts):
                try:
                    if self.sock is None:
                        self._connect()
                    return self._roundtrip(list(args))
                except (OSError, ValueError, RedisError) as error:
                    self._close()
                    if attempt == attempts - 1:
                        log("redis_error", reason=error.__class__.__name__)
                        raise StoreUnavailable("the login session store (Redis) cannot be reached") from None
            raise StoreUnavailable("the login session store (Redis) cannot be reached")

    def update(self, key, change):
        """SET key to change(current value or None), atomically against every other client.

        WATCH/MULTI/EXEC: when another replica wrote the key in between, EXEC answers nil and the
        change is made again from the new value.
        """
        with self.lock:
            try:
                if self.sock is None:
                    self._connect()
                for _ in range(50):
                    self._roundtrip(["WATCH", key])
                    try:
                        new = change(self._roundtrip(["GET", key]))
                    except BaseException:
                        self._roundtrip(["UNWATCH"])
                        raise
                    self._roundtrip(["MULTI"])
                    self._roundtrip(["SET", key, new])
                    if self._roundtrip(["EXEC"]) is not None:
                        return new
            except (OSError, ValueError, RedisError) as error:
                self._close()
                log("redis_error", reason=error.__class__.__name__)
                raise StoreUnavailable("the user store (Redis) cannot be reached") from None
            raise StoreUnavailable("the user store (Redis) stayed contended")


# ---------------------------------------------------------------------------------------------
# Pending logins ("flows"): in this process, or in Redis
# ---------------------------------------------------------------------------------------------


class MemoryFlows:
    """Flows as JSON text with an expiry read from the wall clock (so a moved clock ends them)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.flows = {}

    def _prune(self, now):
        for login_id in [k for k, (expires, _) in self.flows.items() if expires <= now]:
            del self.flows[login_id]

    def create(self, login_id, flow):
        with self.lock:
            now = time.time()
            self._prune(now)
            self.flows[login_id] = (now + FLOW_TTL_SECONDS, json.dumps(flow))

    def get(self, login_id):
        with self.lock:
            entry = self.flows.get(login_id)
            if entry is None:
                return None
            if entry[0] <= time.time():
                del self.flows[login_id]
                return None
            return json.loads(entry[1])

    def replace(self, login_id, flow, restart_ttl=True):
        """Write an existing flow (its lifetime starts again unless told not to); False when it is gone."""
        with self.lock:
            now = time.time()
            entry = self.flows.get(login_id)
            if entry is None or entry[0] <= now:
                self.flows.pop(login_id, None)
                return False
            self.flows[login_id] = (now + FLOW_TTL_SECONDS if restart_ttl else entry[0], json.dumps(flow))
            return True

    def delete(self, login_id):
        """True only for the one caller that removed a live flow."""
        with self.lock:
            entry = self.flows.pop(login_id, None)
            return entry is not None and entry[0] > time.time()


class RedisFlows:
    PREFIX = "litellm:cli_sso:flow:"

    def __init__(self, redis):
        self.redis = redis

    def create(self, login_id, flow):
        self.redis.command("SET", self.PREFIX + login_id, json.dumps(flow), "EX", FLOW_TTL_SECONDS, "NX")

    def get(self, login_id):
        data = self.redis.command("GET", self.PREFIX + login_id)
        if data is None:
            return None
        try:
            flow = json.loads(data.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return None
        return flow if isinstance(flow, dict) else None

    def replace(self, login_id, flow, restart_ttl=True):
        # XX: never bring back a flow another replica has just deleted. KEEPTTL (Redis 6): the write
        # leaves the flow's end where it was.
        lifetime = ("EX", FLOW_TTL_SECONDS) if restart_ttl else ("KEEPTTL",)
        return self.redis.command("SET", self.PREFIX + login_id, json.dumps(flow), *lifetime, "XX") == "OK"

    def delete(self, login_id):
        # Redis runs DEL once; of racing pollers, only one sees 1.
        return self.redis.command("DEL", self.PREFIX + login_id) == 1


class StartRateLimit:
    """A sliding window per client IP, in this process.

    It uses the monotonic clock on purpose: the limit is about real request bursts, and a wall clock
    moved back (as the suite does after a scenario) must not leave old starts in the future.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.starts = {}

    def try_start(self, ip):
        now = time.monotonic()
        with self.lock:
            for other in [k for k, q in self.starts.items() if not q or q[-1] <= now - START_WINDOW_SECONDS]:
                del self.starts[other]
            window = self.starts.setdefault(ip, deque())
            while window and window[0] <= now - START_WINDOW_SECONDS:
                window.popleft()
            if len(window) >= START_LIMIT:
                return False
            window.append(now)
            return True


def merge_login(existing, identity, nested_metadata, now):
    """The user row after a login: teams added, metadata merged one level deep, empty claims keep old values."""
    existing = existing or {}
    teams = list(existing.get("teams", []))
    for team in identity["teams"]:
        if team not in teams:
            teams.append(team)
    metadata = dict(existing.get("metadata", {}))
    for key, value in nested_metadata.items():
        if isinstance(metadata.get(key), dict) and isinstance(value, dict):
            metadata[key] = {**metadata[key], **value}
        else:
            metadata[key] = value
    return {
        "user_id": identity["user_id"],
        "user_email": identity["email"] if identity["email"] is not None else existing.get("user_email"),
        "user_alias": identity["display_name"] or existing.get("user_alias"),
        "first_name": identity["first_name"] or existing.get("first_name"),
        "last_name": identity["last_name"] or existing.get("last_name"),
        "user_role": identity["role"] or existing.get("user_role") or DEFAULT_ROLE,
        "teams": teams,
        "metadata": metadata,
        "created_at": existing.get("created_at", now),
        "updated_at": now,
    }


class Users:
    def __init__(self):
        self.lock = threading.Lock()
        self.rows = {}

    def upsert_login(self, identity, nested_metadata):
        with self.lock:
            row = merge_login(self.rows.get(identity["user_id"]), identity, nested_metadata, time.time())
            self.rows[row["user_id"]] = row
            return json.loads(json.dumps(row))

    def get(self, user_id):
        with self.lock:
            row = self.rows.get(user_id)
            return json.loads(json.dumps(row)) if row else None


class RedisUsers:
    """Users in Redis, one JSON value per user, so that every replica sees the same row."""

    PREFIX = "litellm:cli_sso:user:"

    def __init__(self, redis):
        self.redis = redis

    @staticmethod
    def _row(data):
        try:
            row = json.loads(data.decode("utf-8")) if data is not None else None
        except (ValueError, UnicodeDecodeError):
            return None
        return row if isinstance(row, dict) else None

    def upsert_login(self, identity, nested_metadata):
        def change(current):
            return json.dumps(merge_login(self._row(current), identity, nested_metadata, time.time()))

        return json.loads(self.redis.update(self.PREFIX + identity["user_id"], change))

    def get(self, user_id):
        return self._row(self.redis.command("GET", self.PREFIX + user_id))


# ---------------------------------------------------------------------------------------------
# Identity and attribution metadata from the IdP's userinfo
# ---------------------------------------------------------------------------------------------

MISSING = object()


def split_claim_path(path):
    text = path.strip()
    if text.startswith("metadata."):
        text = text[len("metadata.") :]
    parts, current, index = [], "", 0
    while index < len(text):
        if text[index] == "\\" and text[index + 1 : index + 2] == ".":
            current += "."
            index += 2
            continue
        if text[index] == ".":
            parts.append(current)
            current = ""
        else:
            current += text[index]
        index += 1
    parts.append(current)
    return parts


def read_claim(userinfo, path):
    node = userinfo
    for part in split_claim_path(path):
        if not isinstance(node, dict) or part not in node:
            return MISSING
        node = node[part]
    return node


def read_text(userinfo, path):
    if not path:
        return None
    value = read_claim(userinfo, path)
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
    elif isinstance(value, int):
        value = str(value)
    elif isinstance(value, float) and math.isfinite(value):
        value = str(int(value)) if value.is_integer() else repr(value)
    else:
        return None
    return value or None


def read_teams(value):
    if isinstance(value, list):
        items = value
    elif isinstance(value, str):
        items = value.split(",")
    else:
        items = []
    teams = []
    for item in items:
        if isinstance(item, str):
            text = item.strip()
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            text = str(item)
        else:
            text = ""
        if text and text not in teams:
            teams.append(text)
    return teams


def build_identity(cfg, userinfo):
    email = read_text(userinfo, cfg.attr_email)
    email = email.lower() if email else None
    first = read_text(userinfo, cfg.attr_first_name)
    last = read_text(userinfo, cfg.attr_last_name)
    full_name = " ".join(part for part in (first, last) if part)
    user_id = read_text(userinfo, cfg.attr_user_id) or full_name or email
    if not user_id:
        return None
    role = read_claim(userinfo, cfg.attr_role)
    return {
        "user_id": user_id,
        "email": email,
        "display_name": read_text(userinfo, cfg.attr_display_name),
        "first_name": first,
        "last_name": last,
        "role": role if isinstance(role, str) and role in KNOWN_ROLES else None,
        "teams": read_teams(read_claim(userinfo, cfg.attr_teams)),
    }


def email_domain_allowed(cfg, email):
    if not cfg.allowed_domains:
        return True
    if not email or "@" not in email:
        return False
    at = email.rindex("@")
    return at > 0 and email[at + 1 :] in cfg.allowed_domains


def parse_claim_map(raw):
    """[(source, destination)], one pair per destination, at the place of its last occurrence."""
    text = (raw or "").strip()
    if not text:
        return []
    by_destination = {}
    for entry in text.split(","):
        entry = entry.strip()
        if not entry or "->" not in entry:
            continue
        source, destination = entry.split("->", 1)
        source, destination = source.strip(), destination.strip()
        if destination.startswith("metadata."):
            destination = destination[len("metadata.") :]
        if not source or not destination:
            continue
        by_destination.pop(destination, None)
        by_destination[destination] = source
    return [(source, destination) for destination, source in by_destination.items()]


def destination_problem(key):
    if not DESTINATION_KEY_RE.fullmatch(key):
        return "only letters, digits, '_', '.' and '-' are allowed"
    lower = key.lower()
    for word in BLOCKED_KEY_WORDS:
        if word in lower:
            return f"contains the secret-looking word {word!r}"
    return None


def allowed_metadata_value(value):
    if isinstance(value, bool):
        return True
    if isinstance(value, (int, float)):
        return math.isfinite(value)
    if isinstance(value, str):
        jwt_like = value.startswith("eyJ") and value.count(".") >= 2
        return len(value) <= MAX_METADATA_STRING and not jwt_like
    return False


def attribution_metadata(cfg, userinfo):
    captured = {}
    for path in cfg.extra_attributes:
        value = read_claim(userinfo, path)
        if value is not MISSING:
            captured[path] = value
    flat = {}
    for source, destination in cfg.claim_map:
        if source not in captured or destination_problem(destination):
            continue
        if allowed_metadata_value(captured[source]):
            flat[destination] = captured[source]
    return flat


def nest_metadata(flat):
    nested = {}
    for key, value in flat.items():
        *parents, leaf = key.split(".")
        node = nested
        for part in parents:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        if isinstance(value, str) and NUMERIC_STRING_RE.fullmatch(value):
            value = float(value) if "." in value else int(value)
        node[leaf] = value
    return nested


# ---------------------------------------------------------------------------------------------
# The IdP (OAuth 2.0 authorization code, optional PKCE, OIDC userinfo)
# ---------------------------------------------------------------------------------------------


class IdpError(Exception):
    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_idp_opener = urllib.request.build_opener(_NoRedirects)


def idp_call(url, data=None, headers=None):
    request = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data else "GET")
    origin = "{0.scheme}://{0.netloc}".format(urllib.parse.urlsplit(url))
    try:
        with _idp_opener.open(request, timeout=IDP_TIMEOUT_SECONDS) as response:
            return response.status, response.read(MAX_BODY_BYTES + 1)
    except urllib.error.HTTPError as error:
        try:
            body = error.read(MAX_BODY_BYTES + 1)
        except (OSError, http.client.HTTPException):
            body = b""
        return error.code, body
    except (OSError, http.client.HTTPException, ValueError):
        raise IdpError(f"the IdP at {origin} could not be reached", 502) from None


def _json_or_none(body):
    try:
        return json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None


def _oauth_reason(document):
    if isinstance(document, dict) and isinstance(document.get("error"), str):
        return ": " + document["error"][:100]
    return ""


def fetch_userinfo(cfg, code, redirect_uri, code_verifier):
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if code_verifier:
        form["code_verifier"] = code_verifier
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    if cfg.client_id_in_body or cfg.client_secret is None:
        form["client_id"] = cfg.client_id
        if cfg.client_secret is not None:
            form["client_secret"] = cfg.client_secret
    else:
        # HTTP Basic with both parts form-encoded first (RFC 6749 section 2.3.1).
        pair = urllib.parse.quote(cfg.client_id, safe="") + ":" + urllib.parse.quote(cfg.client_secret, safe="")
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")
    status, body = idp_call(cfg.token_endpoint, urllib.parse.urlencode(form).encode("ascii"), headers)
    document = _json_or_none(body)
    if not 200 <= status < 300:
        raise IdpError(f"the IdP refused the code exchange (HTTP {status}{_oauth_reason(document)})", 400)
    token = document.get("access_token") if isinstance(document, dict) else None
    if not isinstance(token, str) or not token:
        raise IdpError("the IdP token answer has no access_token", 502)
    status, body = idp_call(cfg.userinfo_endpoint, None, {"Authorization": "Bearer " + token,
                                                          "Accept": "application/json"})
    document = _json_or_none(body)
    if not 200 <= status < 300:
        raise IdpError(f"the IdP refused userinfo (HTTP {status}{_oauth_reason(document)})", 400)
    if not isinstance(document, dict):
        raise IdpError("the IdP userinfo answer is not a JSON object", 502)
    return document


def new_pkce():
    verifier = secrets.token_urlsafe(32)
    return verifier, b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def authorization_url(cfg, redirect_uri, state, challenge):
    params = {
        "response_type": "code",
        "client_id": cfg.client_id,
        "redirect_uri": redirect_uri,
        "scope": cfg.scope,
        "state": state,
    }
    if challenge:
        params["code_challenge"] = challenge
        params["code_challenge_method"] = "S256"
    separator = "&" if urllib.parse.urlsplit(cfg.authorization_endpoint).query else "?"
    return cfg.authorization_endpoint + separator + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


# ---------------------------------------------------------------------------------------------
# HTML pages (every value escaped)
# ---------------------------------------------------------------------------------------------

PAGE_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.5}"
    "label{display:block;font-weight:600}input[type=text]{font-family:monospace;letter-spacing:.1em;padding:.4rem}"
    "button{margin-top:1rem;padding:.4rem 1rem}"
)


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def page(title, body):
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
        f'<meta name="referrer" content="no-referrer"><style>{PAGE_STYLE}</style></head>'
        f"<body>{body}</body></html>"
    )


def completion_page(login_id, browser_token, who):
    action = "/sso/cli/complete/" + urllib.parse.quote(login_id, safe="")
    return page(
        "LiteLLM CLI Login",
        "<h1>Complete CLI Login</h1>"
        f"<p>Signed in as <strong>{esc(who)}</strong>. Type the verification code your terminal shows.</p>"
        f'<form method="post" action="{esc(action)}">'
        f'<input type="hidden" name="browser_complete_token" value="{esc(browser_token)}">'
        '<label for="user_code">Verification code</label>'
        '<input type="text" id="user_code" name="user_code" autocomplete="one-time-code" required '
        'spellcheck="false" placeholder="XXXX-XXXX">'
        '<button type="submit">Complete login</button></form>',
    )


def success_page():
    return page(
        "LiteLLM CLI Login",
        "<h1>Authentication Successful!</h1><p>The CLI is signed in; you may close this window.</p>",
    )


def ui_page(session):
    if not session:
        return page("LiteLLM Admin UI", '<h1>LiteLLM Admin UI</h1><p>You are not signed in.</p>'
                                        '<p><a href="/sso/key/generate">Sign in with SSO</a></p>')
    ends = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(session["exp"]))
    return page(
        "LiteLLM Admin UI",
        "<h1>LiteLLM Admin UI</h1><dl>"
        f'<dt>Signed in as</dt><dd data-testid="user-id">{esc(session["sub"])}</dd>'
        f'<dt>Email</dt><dd data-testid="user-email">{esc(session.get("email") or "(none)")}</dd>'
        f'<dt>Role</dt><dd data-testid="user-role">{esc(session.get("role"))}</dd>'
        f'<dt>Session ends</dt><dd><time data-testid="session-ends" datetime="{ends}">{ends}</time></dd></dl>',
    )


# ---------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------


class Answered(Exception):
    """Raised by helpers that already wrote the answer."""


class BadRequest(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class Gateway:
    def __init__(self, cfg):
        self.cfg = cfg
        redis = Redis(cfg.redis) if cfg.redis else None
        self.flows = RedisFlows(redis) if redis else MemoryFlows()
        self.start_limit = StartRateLimit()
        self.users = RedisUsers(redis) if redis else Users()
        self.models_created = int(time.time())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "litellm-python-target"

    def version_string(self):
        return self.server_version
    gateway: Gateway = None  # set by main()

    # The default log line holds the query string (the IdP's code): replaced by our own.
    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_PATCH(self):
        self.dispatch("PATCH")

    # ---- plumbing ----

    def dispatch(self, method):
        started = time.monotonic()
        self.status_sent = 0
        split = urllib.parse.urlsplit(self.path)
        path = split.path
        try:
            self.query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
            self.body = self.read_body()
            self.route(method, path)
        except Answered:
            pass
        except BadRequest as error:
            self.send_json(error.status, {"detail": str(error)})
        except StoreUnavailable as error:
            self.send_json(503, {"detail": f"Service temporarily unavailable: {error}. Try again shortly."},
                           [("Retry-After", "5")])
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as error:  # a bug of ours: a plain 500, the details only in the log
            log("internal_error", path=path, error=error.__class__.__name__)
            if not self.status_sent:
                self.send_json(500, {"detail": "Internal server error"})
            self.close_connection = True
        log("request", method=method, path=path, status=self.status_sent,
            ms=round((time.monotonic() - started) * 1000, 1))

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks, total = [], 0
            while True:
                size_line = self.rfile.readline(1024)
                try:
                    size = int(size_line.split(b";")[0].strip(), 16)
                except ValueError:
                    self.close_connection = True
                    raise BadRequest(400, "Malformed chunked body") from None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY_BYTES:
                    self.close_connection = True
                    raise BadRequest(413, "Request body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
            return b"".join(chunks)
        length_text = self.headers.get("Content-Length")
        if not length_text:
            return b""
        if not length_text.strip().isdigit():
            self.close_connection = True
            raise BadRequest(400, "Invalid Content-Length")
        length = int(length_text)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            raise BadRequest(413, "Request body too large")
        return self.rfile.read(length)

    def send(self, status, body: bytes, content_type, headers=()):
        self.status_sent = status
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status, document, headers=()):
        self.send(status, json.dumps(document).encode("utf-8"), "application/json", headers)

    def send_html(self, status, text, headers=()):
        self.send(status, text.encode("utf-8"), "text/html; charset=utf-8",
                  [("Referrer-Policy", "no-referrer"), *headers])

    def redirect(self, location, headers=()):
        self.status_sent = 303
        self.send_response(303)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.send_header("Cache-Control", "no-store")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()

    def q(self, name):
        """One query parameter; None when absent; a repeated parameter is a 400."""
        values = self.query.get(name)
        if values is None:
            return None
        if len(values) > 1:
            raise BadRequest(400, f"The query parameter {name} must be given at most once")
        return values[0]

    def api_error(self, status, kind, message, param=None):
        self.send_json(status, {"error": {"message": message, "type": kind, "param": param, "code": str(status)}})
        raise Answered()

    def cookie(self, name):
        for part in self.headers.get_all("Cookie") or []:
            for item in part.split(";"):
                key, _, value = item.strip().partition("=")
                if key == name:
                    return value
        return None

    def public_base_url(self):
        cfg = self.gateway.cfg
        if cfg.public_base_url:
            return cfg.public_base_url
        host = self.headers.get("Host") or f"{cfg.host}:{cfg.port}"
        return "http://" + host

    def route(self, method, path):
        routes = {
            "/health/liveliness": {"GET": self.health},
            "/health/liveness": {"GET": self.health},
            "/health/readiness": {"GET": self.health},
            "/sso/cli/start": {"POST": self.cli_start},
            "/sso/key/generate": {"GET": self.key_generate},
            "/sso/callback": {"GET": self.callback},
            "/models": {"GET": self.models},
            "/v1/models": {"GET": self.models},
            "/user/info": {"GET": self.user_info},
            "/ui": {"GET": self.ui_home},
            "/ui/": {"GET": self.ui_home},
        }
        handlers = routes.get(path)
        argument = None
        if handlers is None:
            for prefix, table in (("/sso/cli/complete/", {"POST": self.cli_complete}),
                                  ("/sso/cli/poll/", {"GET": self.cli_poll})):
                if path.startswith(prefix) and "/" not in path[len(prefix):]:
                    handlers, argument = table, urllib.parse.unquote(path[len(prefix):])
        if handlers is None:
            self.send_json(404, {"detail": "Not Found"})
            return
        handler = handlers.get(method)
        if handler is None:
            self.send_json(405, {"detail": "Method Not Allowed"}, [("Allow", ", ".join(handlers))])
            return
        if argument is None:
            handler()
        else:
            handler(argument)

    # ---- routes ----

    def health(self):
        self.send_json(200, "I'm alive!")

    def cli_start(self):
        gw = self.gateway
        ip = self.client_address[0]
        if not gw.start_limit.try_start(ip):
            log("cli_start_rate_limited", client_ip=ip)
            self.send_json(429, {"detail": MSG_TOO_MANY_STARTS}, [("Retry-After", str(START_WINDOW_SECONDS))])
            return
        login_id = "cli-" + secrets.token_urlsafe(24)
        poll_secret = secrets.token_urlsafe(32)
        user_code = new_user_code()
        gw.flows.create(login_id, {
            "status": "pending",
            "poll_secret_hash": sha256_hex(poll_secret),
            "user_code_hash": sha256_hex(user_code),
            "browser_token_hash": None,
            "pkce_verifier": None,
            "session": None,
        })
        log("flow_created", login_id=login_id, client_ip=ip)
        self.send_json(200, {
            "login_id": login_id,
            "poll_secret": poll_secret,
            "user_code": user_code[:4] + "-" + user_code[4:],
            "expires_in": FLOW_TTL_SECONDS,
        })

    def key_generate(self):
        gw, cfg = self.gateway, self.gateway.cfg
        redirect_uri = self.public_base_url() + "/sso/callback"
        verifier, challenge = new_pkce() if cfg.use_pkce else (None, None)
        if self.q("source") != CLI_SOURCE:
            self.start_ui_login(redirect_uri, verifier, challenge)
            return
        # Only a login id this gateway made opens a CLI login: a key the client picked (the old
        # sk-... flow) would let someone sign a victim's browser in to the attacker's session.
        login_id = self.q("key")
        flow = gw.flows.get(login_id) if login_id and LOGIN_ID_RE.fullmatch(login_id) else None
        if not flow or flow["status"] == "user_code_verified":
            raise BadRequest(400, MSG_INVALID_SESSION)
        if verifier:
            flow["pkce_verifier"] = verifier
            # A visit to the browser link never extends the flow (CLISSO-START-07): anyone who has
            # seen the login id could otherwise keep it open without end. The callback's write
            # still starts the 600 s again, as LiteLLM's does (CLISSO-START-06).
            if not gw.flows.replace(login_id, flow, restart_ttl=False):
                raise BadRequest(400, MSG_INVALID_SESSION)
        log("flow_sent_to_idp", login_id=login_id, pkce=bool(verifier))
        self.redirect(authorization_url(cfg, redirect_uri, CLI_STATE_PREFIX + login_id, challenge))

    def start_ui_login(self, redirect_uri, verifier, challenge):
        cfg = self.gateway.cfg
        state = secrets.token_urlsafe(32)
        cookie = sign_cookie(cfg.ui_state_key, {"state": state, "pkce_verifier": verifier,
                                                "exp": int(time.time()) + UI_LOGIN_STATE_SECONDS})
        set_cookie = (f"{UI_STATE_COOKIE}={cookie}; Max-Age={UI_LOGIN_STATE_SECONDS}; Path=/sso/callback; "
                      "HttpOnly; SameSite=Lax")
        log("ui_login_sent_to_idp", pkce=bool(verifier))
        self.redirect(authorization_url(cfg, redirect_uri, state, challenge), [("Set-Cookie", set_cookie)])

    def sign_in(self, code_verifier):
        """The IdP part both callback branches share; returns (user row, identity, flat metadata)."""
        gw, cfg = self.gateway, self.gateway.cfg
        idp_error = self.q("error")
        if idp_error is not None:
            log("idp_login_refused", error=idp_error[:100])
            raise BadRequest(400, f"SSO login failed at the identity provider: {idp_error[:100]}")
        code = self.q("code")
        if not code:
            raise BadRequest(400, "Missing authorization code")
        try:
            userinfo = fetch_userinfo(cfg, code, self.public_base_url() + "/sso/callback", code_verifier)
        except IdpError as error:
            log("idp_exchange_failed", reason=str(error))
            raise BadRequest(error.status, f"SSO login failed: {error}") from None
        identity = build_identity(cfg, userinfo)
        if identity is None:
            raise BadRequest(400, "SSO login failed: the IdP sent no user id, name or email")
        if not email_domain_allowed(cfg, identity["email"]):
            log("email_domain_refused", user_id=identity["user_id"])
            raise BadRequest(401, "The email domain of this user is not allowed to sign in to this proxy")
        flat = attribution_metadata(cfg, userinfo)
        user = gw.users.upsert_login(identity, nest_metadata(flat))
        log("user_upserted", user_id=user["user_id"], role=user["user_role"])
        return user, identity, flat

    def callback(self):
        gw = self.gateway
        state = self.q("state") or ""
        if not state.startswith(CLI_STATE_PREFIX):
            self.finish_ui_login(state)
            return
        login_id = state[len(CLI_STATE_PREFIX):]
        flow = gw.flows.get(login_id) if LOGIN_ID_RE.fullmatch(login_id) else None
        if not flow or flow["status"] == "user_code_verified":
            raise BadRequest(400, MSG_INVALID_SESSION)
        user, identity, flat = self.sign_in(flow.get("pkce_verifier"))
        browser_token = secrets.token_urlsafe(32)
        current = gw.flows.get(login_id)
        if not current or current["status"] == "user_code_verified":
            raise BadRequest(400, MSG_INVALID_SESSION)
        current.update({
            "status": "sso_complete",
            "browser_token_hash": sha256_hex(browser_token),
            "pkce_verifier": None,
            "session": {
                "user_id": user["user_id"],
                "user_email": user["user_email"],
                "user_role": user["user_role"],
                "teams": user["teams"],
                "attribution_metadata": flat,
            },
        })
        if not gw.flows.replace(login_id, current):
            raise BadRequest(400, MSG_INVALID_SESSION)
        log("flow_sso_complete", login_id=login_id, user_id=user["user_id"], teams=user["teams"])
        who = user["user_email"] or user["user_id"]
        self.send_html(200, completion_page(login_id, browser_token, who))

    def finish_ui_login(self, state):
        cfg = self.gateway.cfg
        expected = read_cookie_value(cfg.ui_state_key, self.cookie(UI_STATE_COOKIE))
        if not expected or not state or not hmac.compare_digest(str(expected.get("state")), state):
            raise BadRequest(400, "Invalid SSO state: start the login again from /sso/key/generate")
        user, _, _ = self.sign_in(expected.get("pkce_verifier"))
        seconds = cfg.ui_session_seconds
        session = sign_cookie(cfg.ui_session_key, {"sub": user["user_id"], "email": user["user_email"],
                                                   "role": user["user_role"], "exp": int(time.time()) + seconds})
        log("ui_session_started", user_id=user["user_id"], session_seconds=seconds)
        self.redirect("/ui/", [
            ("Set-Cookie", f"{UI_STATE_COOKIE}=; Max-Age=0; Path=/sso/callback; HttpOnly; SameSite=Lax"),
            ("Set-Cookie", f"{UI_SESSION_COOKIE}={session}; Max-Age={seconds}; Path=/; HttpOnly; SameSite=Lax"),
        ])

    def ui_home(self):
        session = read_cookie_value(self.gateway.cfg.ui_session_key, self.cookie(UI_SESSION_COOKIE))
        self.send_html(200 if session else 401, ui_page(session))

    def cli_complete(self, login_id):
        gw = self.gateway
        if not LOGIN_ID_RE.fullmatch(login_id):
            raise BadRequest(400, MSG_INVALID_SESSION)
        # The body is read as a form whatever Content-Type says.
        form = urllib.parse.parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        user_code = (form.get("user_code") or [""])[0]
        browser_token = (form.get("browser_complete_token") or [""])[0]
        flow = gw.flows.get(login_id)
        if not flow:
            raise BadRequest(400, MSG_INVALID_SESSION)
        if flow["status"] == "pending":
            raise BadRequest(400, MSG_NOT_READY)
        code_ok = matches_hash(normalize_user_code(user_code), flow["user_code_hash"])
        token_ok = matches_hash(browser_token, flow.get("browser_token_hash"))
        if not (code_ok and token_ok):
            # Like LiteLLM, wrong codes are not counted: the flow stays as it was.
            log("flow_code_rejected", login_id=login_id)
            raise BadRequest(400, MSG_INVALID_CODE)
        if flow["status"] != "user_code_verified":
            flow["status"] = "user_code_verified"
            if not gw.flows.replace(login_id, flow):
                raise BadRequest(400, MSG_INVALID_SESSION)
            log("flow_code_verified", login_id=login_id)
        self.send_html(200, success_page())

    def cli_poll(self, login_id):
        gw, cfg = self.gateway, self.gateway.cfg
        # Prefer: wait=N is not honoured (LiteLLM answers every poll at once).
        if not LOGIN_ID_RE.fullmatch(login_id):
            raise BadRequest(400, MSG_INVALID_SESSION)
        team_id = self.q("team_id")
        flow = gw.flows.get(login_id)
        if not flow:
            raise BadRequest(400, MSG_INVALID_SESSION)
        if not matches_hash(self.headers.get(POLL_SECRET_HEADER), flow["poll_secret_hash"]):
            raise BadRequest(403, MSG_INVALID_POLL_SECRET)
        session = flow.get("session")
        if flow["status"] != "user_code_verified" or not session:
            self.send_json(200, {"status": "pending"})
            return
        teams = session["teams"]
        details = [{"team_id": t, "team_alias": self.team_alias(t)} for t in teams]
        extra = {"attribution_metadata": session["attribution_metadata"]} if session["attribution_metadata"] else {}
        if team_id is None and len(teams) > 1:
            log("flow_awaits_team_selection", login_id=login_id, user_id=session["user_id"])
            self.send_json(200, {"status": "ready", "user_id": session["user_id"], "teams": teams,
                                 "team_details": details, "requires_team_selection": True, **extra})
            return
        if team_id is not None and team_id not in teams:
            raise BadRequest(403, f"User does not belong to team: {team_id[:200]}")
        chosen = team_id if team_id is not None else (teams[0] if teams else None)
        if not gw.flows.delete(login_id):
            # Another poll took the key a moment ago.
            raise BadRequest(400, MSG_INVALID_SESSION)
        key, payload = issue_key(cfg, session["user_id"], chosen, session["user_role"])
        log("flow_key_issued", login_id=login_id, user_id=session["user_id"], team_id=chosen,
            key_expires_at=payload["exp"])
        self.send_json(200, {"status": "ready", "key": key, "user_id": session["user_id"], "team_id": chosen,
                             "teams": teams, "team_details": details, **extra})

    def team_alias(self, team_id):
        for team in self.gateway.cfg.teams:
            if team["team_id"] == team_id:
                return team["team_alias"]
        return None

    def caller(self):
        """'master' or a CLI key's payload; answers 401/400 itself otherwise."""
        cfg = self.gateway.cfg
        header = self.headers.get("Authorization") or ""
        match = re.fullmatch(r"\s*Bearer\s+(\S+)\s*", header, re.IGNORECASE)
        if not match:
            self.api_error(401, "auth_error", "Authentication Error - No api key passed in.", "key")
        token = match.group(1)
        if hmac.compare_digest(hashlib.sha256(token.encode("utf-8")).digest(), cfg.master_key_digest):
            return "master"
        if cfg.experimental_ui_login:
            verdict, payload = verify_key(cfg, token)
            if verdict == "ok":
                return payload
            if verdict == "expired":
                now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                self.api_error(400, "expired_key",
                               f"Authentication Error - Expired Key. Current time: {now}. Log in again.", "key")
        self.api_error(401, "auth_error", "Authentication Error - Invalid proxy server token passed.", "key")

    def models(self):
        cfg = self.gateway.cfg
        caller = self.caller()
        allowed = None
        if caller != "master":
            team = next((t for t in cfg.teams if t["team_id"] == caller.get("team_id")), None)
            if team and team["models"] is not None:
                allowed = set(team["models"])
        data, seen = [], set()
        for model in cfg.models:
            if model["name"] in seen or (allowed is not None and model["name"] not in allowed):
                continue
            seen.add(model["name"])
            data.append({"id": model["name"], "object": "model", "created": self.gateway.models_created,
                         "owned_by": model["owned_by"]})
        self.send_json(200, {"object": "list", "data": data})

    def user_info(self):
        if self.caller() != "master":
            self.api_error(403, "auth_error", "Only the master key may read /user/info for a user_id.")
        user_id = self.q("user_id")
        if not user_id:
            raise BadRequest(400, "user_id is required as a query parameter")
        row = self.gateway.users.get(user_id)
        if not row:
            raise BadRequest(404, "User not found")
        iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))  # noqa: E731
        row["created_at"], row["updated_at"] = iso(row["created_at"]), iso(row["updated_at"])
        teams = [{"team_id": t, "team_alias": self.team_alias(t)} for t in row["teams"]]
        self.send_json(200, {"user_id": row["user_id"], "user_info": row, "keys": [], "teams": teams})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def main(argv=None):
    parser = argparse.ArgumentParser(description="LiteLLM-style CLI SSO gateway (conformance test target)")
    parser.add_argument("--host", help="interface to listen on (else HOST, else 127.0.0.1)")
    parser.add_argument("--port", help="port to listen on (else PORT, else 4000)")
    parser.add_argument("--config", help="LiteLLM config.yaml (else CONFIG_FILE_PATH)")
    parser.add_argument("--base-url", help="public base URL (else PROXY_BASE_URL)")
    args = parser.parse_args(argv)

    cfg, problems = load_config(args, os.environ)
    if problems:
        sys.stderr.write(f"invalid configuration ({len(problems)} problem{'s' if len(problems) > 1 else ''}):\n")
        for item in problems:
            sys.stderr.write(f"  - {item}\n")
        sys.stderr.flush()
        return 2
    for warning in claim_map_warnings(cfg):
        log("claim_map_warning", detail=warning)

    Handler.gateway = Gateway(cfg)
    try:
        server = Server((cfg.host, cfg.port), Handler)
    except OSError as error:
        sys.stderr.write(f"cannot listen on {cfg.host}:{cfg.port}: {error.strerror or error}\n")
        return 1

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    url = f"http://{cfg.host}:{server.server_address[1]}"
    sys.stdout.write(json.dumps({"event": "listening", "url": url}) + "\n")
    sys.stdout.flush()
    log("started", url=url, flow_store="redis" if cfg.redis else "memory",
        experimental_ui_login=cfg.experimental_ui_login, key_lifetime_seconds=cfg.key_lifetime_seconds,
        models=len(cfg.models))
    try:
        server.serve_forever()
    except SystemExit:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
