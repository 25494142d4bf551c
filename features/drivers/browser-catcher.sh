#!/bin/sh
# Stands in for a web browser in the CLI's BROWSER variable: records the URL the CLI asked to open
# (one per line) in the file named by SSO_CONFORMANCE_BROWSER_LOG, so the harness can open it in
# Playwright. Exits at once, as a real browser launcher does. A shell script, not a Node one: a
# login runs it once, and /bin/sh starts in a millisecond where Node takes a tenth of a second.
if [ -n "$1" ] && [ -n "$SSO_CONFORMANCE_BROWSER_LOG" ]; then
  printf '%s\n' "$1" >> "$SSO_CONFORMANCE_BROWSER_LOG"
fi
