#!/usr/bin/env bash
# Install (if missing) and start Debian's PostgreSQL for the tests, with the `test` database. Idempotent.
# The tests connect as `postgres` over loopback without a password, so this cluster trusts 127.0.0.1 and ::1
# (a test machine only; production PostgreSQL is configured by its operators).
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql
fi
version="$(ls /usr/lib/postgresql | sort -V | tail -n1)"
if [ ! -d "/etc/postgresql/$version/main" ]; then
  $SUDO pg_createcluster "$version" main
fi
hba="/etc/postgresql/$version/main/pg_hba.conf"
if ! grep -q '^# triage-tests' "$hba"; then
  { echo '# triage-tests: loopback trusted for the test suite'
    echo 'host all postgres 127.0.0.1/32 trust'
    echo 'host all postgres ::1/128 trust'
    cat "$hba"; } > "$hba.new"
  $SUDO mv "$hba.new" "$hba"
  $SUDO chown postgres:postgres "$hba"
  $SUDO chmod 640 "$hba"
  if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  fi
fi
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432
psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE test"
