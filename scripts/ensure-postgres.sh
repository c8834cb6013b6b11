#!/usr/bin/env bash
# The tests run the data layer on a throwaway PostgreSQL server started from the installed binaries.
# Install them from Debian's packages when they are missing (as root), so that CI always runs those tests.
set -euo pipefail
if compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null || command -v pg_ctl >/dev/null; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "PostgreSQL binaries not found and not root: install the 'postgresql' package (the tests need it)." >&2
  exit 1
fi
echo "Installing PostgreSQL from Debian's packages…"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq postgresql >/dev/null
