#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL cluster: initdb into a temporary folder (trust authentication, listening
# on 127.0.0.1 only), pg_ctl start on a free loopback port, MPP_TEST_POSTGRES exported for the command, and the cluster
# stopped and deleted when the command ends, whatever happens. Installs Debian's postgresql when initdb is missing and we
# are root (as CI is).
# Usage: eng/with-postgres.sh <command> [arguments...]
set -euo pipefail

[ "$#" -gt 0 ] || { echo "usage: $0 <command> [arguments...]" >&2; exit 2; }

find_bin() {
  command -v initdb 2>/dev/null && return
  ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1
}

INITDB="$(find_bin || true)"
if [ -z "$INITDB" ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    INITDB="$(find_bin)"
  else
    echo "with-postgres: initdb not found; install PostgreSQL (Debian: apt-get install postgresql) or set MPP_TEST_POSTGRES yourself" >&2
    exit 1
  fi
fi
BIN="$(dirname "$INITDB")"

DIR="$(mktemp -d /tmp/mpp-pg.XXXXXX)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
# PostgreSQL refuses to run as root: the cluster belongs to the postgres user then.
AS=()
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  chown postgres "$DIR"
  AS=(runuser -u postgres --)
fi

stop() {
  "${AS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap stop EXIT

"${AS[@]}" "$BIN/initdb" -D "$DIR/data" -U postgres -A trust --no-sync >/dev/null
"${AS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
  -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1" start >/dev/null
echo "with-postgres: PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT (throwaway, $DIR)"

export MPP_TEST_POSTGRES="Host=127.0.0.1;Port=$PORT;Username=postgres;Database=postgres"
"$@"
