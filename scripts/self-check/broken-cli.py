#!/usr/bin/env python3
"""Deliberately broken CLIs: targets/python/cli.py with ONE realistic fault.

    broken-cli.py <variant> <cli arguments...>     e.g. --cli-cmd "python3 broken-cli.py prints-key"
    broken-cli.py --list

The suite run against each variant should fail the requirement the fault breaks; a variant it
passes shows a hole in the suite. Each fault replaces one small function or constant of the
loaded module, so cli.py itself carries no fault code and every variant is a few lines to read.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import urllib.parse
from pathlib import Path
from types import ModuleType
from typing import Callable

CLI_PATH = Path(__file__).resolve().parents[2] / "targets" / "python" / "cli.py"


def load_cli() -> ModuleType:
    """A fresh copy of cli.py as a module, so each variant patches its own copy."""
    spec = importlib.util.spec_from_file_location("litellm_python_cli", CLI_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def secret_in_query(cli: ModuleType) -> None:
    def poll_request(base_url, start, team_id):
        query = {"poll_secret": start["poll_secret"]}
        if team_id is not None:
            query["team_id"] = team_id
        path = f"/sso/cli/poll/{urllib.parse.quote(start['login_id'], safe='')}"
        return f"{cli.api_url(base_url, path)}?{urllib.parse.urlencode(query)}", {}

    cli.poll_request = poll_request


def polls_too_fast(cli: ModuleType) -> None:
    cli.POLL_INTERVAL_SECONDS = 0.1


def keeps_polling_after_400(cli: ModuleType) -> None:
    # The older CLI's rule: every error answer is "not ready yet".
    cli.poll_gives_up = lambda status: False


def key_world_readable(cli: ModuleType) -> None:
    cli.PRIVATE_FILE_MODE = 0o644


def prints_key(cli: ModuleType) -> None:
    cli.mask_key = lambda key: key
    cli.redact = lambda text: text


def echoes_secrets(cli: ModuleType) -> None:
    # Secrets are kept out of its own lines, but what the gateway says is printed as it came.
    cli.redact = lambda text: text


def raw_whoami(cli: ModuleType) -> None:
    # The login's strings are cleaned where they are printed, but whoami prints the stored ones raw.
    whoami = cli.cmd_whoami

    def cmd_whoami():
        cli.clean = lambda value: value if isinstance(value, str) else str(value)
        return whoami()

    cli.cmd_whoami = cmd_whoami


def retries_oversize(cli: ModuleType) -> None:
    # An answer too large is dropped unread, but counted as a network failure: the login polls on.
    read = cli.read_capped

    def read_capped(response):
        try:
            return read(response)
        except cli.AnswerTooLarge as error:
            raise cli.RequestFailed(str(error)) from error

    cli.read_capped = read_capped


def ignores_team_choice(cli: ModuleType) -> None:
    ask = cli.choose_team

    def choose_team(choices):
        ask(choices)  # the person is asked, and the answer is dropped
        return choices[0][0]

    cli.choose_team = choose_team


def keeps_no_key(cli: ModuleType) -> None:
    cli.store_login = lambda metadata, key: f"Key stored in {cli.token_file()}."


def browser_before_url(cli: ModuleType) -> None:
    def announce_and_open(url, start, base_url):
        cli.open_browser(url, base_url)
        cli.show_login(url, start)

    cli.announce_and_open = announce_and_open


def follows_any_url(cli: ModuleType) -> None:
    def validate_start(answer):
        if not isinstance(answer, dict):
            raise cli.LoginFailed("the proxy's answer to /sso/cli/start is not a JSON object")
        fields = ("login_id", "poll_secret", "user_code", "verification_uri_complete")
        return {name: str(answer[name]) for name in fields if name in answer}  # nothing checked

    def browser_url(base_url, start):
        if "verification_uri_complete" in start:
            return start["verification_uri_complete"]
        return f"{cli.api_url(base_url, '/sso/key/generate')}?source=litellm-cli&key={start.get('login_id', '')}"

    cli.validate_start = validate_start
    cli.browser_url = browser_url
    cli.is_safe_browser_url = lambda url, base_url: True


def drops_prefix(cli: ModuleType) -> None:
    def api_url(base_url, path):
        parts = urllib.parse.urlsplit(base_url)
        return f"{parts.scheme}://{parts.netloc}{path}"

    cli.api_url = api_url


def passes_escapes(cli: ModuleType) -> None:
    cli.clean = lambda value: value if isinstance(value, str) else str(value)


def unbounded_read(cli: ModuleType) -> None:
    cli.read_capped = lambda response: b"" if getattr(response, "fp", True) is None else response.read()


def no_bearer(cli: ModuleType) -> None:
    cli.auth_headers = lambda key: {"x-api-key": key}


def logout_keeps_key(cli: ModuleType) -> None:
    cli.forget_login = lambda: "Removed the stored login."


def sends_stale_key(cli: ModuleType) -> None:
    store = cli.store_login

    def store_login(metadata, key):
        # "Only write the keychain entry when there is none", so a second login keeps the first key.
        return store(metadata, cli.load_key() or key)

    cli.store_login = store_login


def whoami_key_in_url(cli: ModuleType) -> None:
    whoami = cli.cmd_whoami

    def cmd_whoami():
        # "Check the key with the proxy" through LiteLLM's GET /key/info?key=..., which takes it in the query.
        metadata, key = cli.load_metadata(), cli.load_key()
        if metadata and key and metadata.get("base_url"):
            url = f"{cli.api_url(metadata['base_url'], '/key/info')}?{urllib.parse.urlencode({'key': key})}"
            try:
                cli.http_request("GET", url, cli.auth_headers(key))
            except Exception:  # noqa: BLE001 - whoami answers from what is stored either way
                pass
        return whoami()

    cli.cmd_whoami = cmd_whoami


def gives_up_early(cli: ModuleType) -> None:
    # A timeout meant in minutes or cut "to fail fast": the person has 30 s to sign in.
    cli.LOGIN_TIMEOUT_SECONDS = 30


VARIANTS: dict[str, tuple[str, Callable[[ModuleType], None]]] = {
    "secret-in-query": ("sends the poll secret as ?poll_secret= instead of its header", secret_in_query),
    "polls-too-fast": ("polls every 0.1 s instead of every 2 s", polls_too_fast),
    "keeps-polling-after-400": ("keeps polling through a 4xx other than 429, as the older CLI did", keeps_polling_after_400),
    "key-world-readable": ("writes token.json and the keychain file with mode 0644", key_world_readable),
    "prints-key": ("prints the whole key after login instead of its first 20 characters", prints_key),
    "echoes-secrets": ("prints the gateway's error details unredacted, a key or poll secret in them included", echoes_secrets),
    "raw-whoami": ("whoami prints the stored user, email, role and team with their escape sequences", raw_whoami),
    "retries-oversize": ("takes an answer too large to read for a network failure and polls again", retries_oversize),
    "ignores-team-choice": ("asks for a team, then always polls with the first team listed", ignores_team_choice),
    "keeps-no-key": ("says the login succeeded but stores nothing", keeps_no_key),
    "browser-before-url": ("opens the browser before printing the URL and the code", browser_before_url),
    "follows-any-url": (
        "accepts any login_id and opens the gateway's verification_uri_complete or a URL built from it",
        follows_any_url,
    ),
    "drops-prefix": ("drops the base URL's path (http://h/litellm -> http://h/sso/...)", drops_prefix),
    "passes-escapes": ("prints strings from the network raw, escape sequences included", passes_escapes),
    "unbounded-read": ("reads every answer whole, however large", unbounded_read),
    "no-bearer": ("models list sends the key as x-api-key instead of Authorization: Bearer", no_bearer),
    "logout-keeps-key": ("logout says it logged out but leaves the key in the keychain and token file", logout_keeps_key),
    "sends-stale-key": ("a second login keeps the first key, which models list goes on sending", sends_stale_key),
    "whoami-key-in-url": ("whoami asks the proxy about the key with GET /key/info?key=<key>", whoami_key_in_url),
    "gives-up-early": ("gives up on the login after 30 s instead of 300 s", gives_up_early),
}


def broken_cli(variant: str) -> ModuleType:
    cli = load_cli()
    VARIANTS[variant][1](cli)
    return cli


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    if argv[0] == "--list":
        width = max(len(name) for name in VARIANTS)
        for name, (description, _apply) in VARIANTS.items():
            print(f"{name:<{width}}  {description}")
        return 0
    if argv[0] not in VARIANTS:
        print(f"unknown variant {argv[0]!r}; `{os.path.basename(__file__)} --list` shows them", file=sys.stderr)
        return 2
    return broken_cli(argv[0]).main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
