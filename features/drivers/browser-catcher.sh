#!/bin/sh
# Stands in for a web browser in the CLI's BROWSER variable: records the URL the CLI asked to open
# (one per line) in the file named by SSO_CONFORMANCE_BROWSER_LOG, so the harness can open it in
# Playwright.
#
# Then it waits (at most 5 s) until the harness has looked at what the CLI had printed by then,
# and the harness says so by creating "<log>.seen.<n>" for the n-th URL. A CLI that waits for its
# browser command (Python's webbrowser does) is held still meanwhile, so "the URL and the code were
# on the screen before the browser opened" is judged on what the CLI really did, not on a race.
#
# A shell script, not a Node one: /bin/sh starts in a millisecond where Node takes a tenth of a second.
if [ -n "$1" ] && [ -n "$SSO_CONFORMANCE_BROWSER_LOG" ]; then
  printf '%s\n' "$1" >> "$SSO_CONFORMANCE_BROWSER_LOG"
  n=$(wc -l < "$SSO_CONFORMANCE_BROWSER_LOG" | tr -d ' ')
  tries=0
  while [ ! -e "$SSO_CONFORMANCE_BROWSER_LOG.seen.$n" ] && [ "$tries" -lt 100 ]; do
    sleep 0.05
    tries=$((tries + 1))
  done
fi
