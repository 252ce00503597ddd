#!/usr/bin/env bash
# The command line, end to end. Needs API_KEY, API_URL and DEFAULT_WORKSPACE_NAME (see "Configuration").
# Run: bash examples/cli_tour.sh ./corpus
set -euo pipefail
corpus="${1:-./corpus}"

deepset-cloud upload "$corpus" --recursive --write-mode OVERWRITE --use-type .txt,.md
deepset-cloud list-files --odata-filter "lang eq 'en'"
deepset-cloud list-files --json | head -n 2                  # JSON lines; head ends the listing quietly
session=$(deepset-cloud list-upload-sessions --json | head -n 1 | python -c 'import json, sys; print(json.loads(sys.stdin.read() or "{}").get("session_id", ""))')
if [ -n "$session" ]; then deepset-cloud get-upload-session "$session" --json; fi
deepset-cloud download --file-dir ./downloads --name hello --json
