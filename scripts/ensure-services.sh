#!/usr/bin/env bash
# The tests start their own PostgreSQL server (the data layer runs on both databases) and Redis (Rasa's lock store,
# with two Rasa workers) from the installed binaries. Install what is missing from Debian's packages (as root), so
# that CI always runs those tests.
set -euo pipefail
missing=()
compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null || command -v pg_ctl >/dev/null || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "Not found and not root: install the Debian package(s) ${missing[*]} (the tests need them)." >&2
  exit 1
fi
echo "Installing ${missing[*]} from Debian's packages…"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
