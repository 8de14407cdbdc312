#!/usr/bin/env bash
# The project's fallback MongoDB-wire server for `npm test` / `npm run dev` on a machine with no
# MONGODB_URI and no downloadable mongod (scripts/local-mongo.ts calls it): FerretDB 1.24.2 built from
# the Go module proxy, on SQLite by default (needs only Go: no root, no PostgreSQL), on 127.0.0.1 only.
# Adapted from the team's shared/tools/ferretdb.sh, which CI uses with PostgreSQL.
#
#   eval "$(bash scripts/ferretdb.sh start)"   # builds once, starts, prints: export MONGODB_URI=...
#   bash scripts/ferretdb.sh stop
#
# Env: FERRETDB_PORT (27027), FERRETDB_HOME (cache, binary and state; default ~/.cache/ferretdb-1.24.2),
#      FERRETDB_BACKEND: sqlite (default) or postgresql (installs Debian's PostgreSQL, needs root).
#      FERRETDB_KEEP_DATA=1 keeps the SQLite files between starts (npm run dev); tests start empty.
# Progress goes to stderr; only the export line goes to stdout.
#
# Why these choices (measured on these machines):
# - `go install ...@v1.24.2` fails here (the proxy refuses the module's version list), so the module
#   is downloaded by exact version and built from its source.
# - The module's source lacks build/version/version.txt, and the binary panics at start without it.
# - v1.24.2 holds every query iterator of a multi-statement `update` command open until the command
#   ends, so a bulkWrite of ~50 or more updateOne ops deadlocks the server (PostgreSQL backend; ~100
#   on SQLite). One line moved in internal/handler/msg_update.go closes each iterator per statement.
# - The PostgreSQL backend, not SQLite: SQLite scans whole tables (an indexed lookup took 270 ms at
#   20k documents, against 6 ms on PostgreSQL).
# Known gaps of FerretDB 1.24 that real MongoDB does not have: no TTL indexes, no transactions, no
# change streams, no $lookup/$facet, most $group accumulators and expression operators missing, no
# collation or partial indexes, and bulkWrite(ordered:false) stops at the first write error.
# Lookups other than by _id scan the table. Production runs on real MongoDB: design for it.
set -euo pipefail

VERSION=v1.24.2
PORT=${FERRETDB_PORT:-27027}
HOME_DIR=${FERRETDB_HOME:-$HOME/.cache/ferretdb-1.24.2}
BACKEND=${FERRETDB_BACKEND:-sqlite}
BIN=$HOME_DIR/bin/ferretdb
PIDFILE=$HOME_DIR/ferretdb-$PORT.pid
DB=ferretdb_$PORT
log() { echo "ferretdb.sh: $*" >&2; }

pg_cluster() { ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1; }

ensure_postgres() {
  if ! command -v pg_ctlcluster >/dev/null || [ -z "$(pg_cluster)" ]; then
    log "installing PostgreSQL from Debian's packages"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  fi
  local v; v=$(pg_cluster)
  if ! pg_lsclusters -h | awk -v v="$v" '$1==v && $2=="main" {print $4}' | grep -q online; then
    pg_ctlcluster --skip-systemctl-redirect "$v" main start >&2
  fi
  for _ in $(seq 1 50); do su postgres -c "pg_isready -q -h 127.0.0.1" && break; sleep 0.2; done
  su postgres -c "psql -qAt -c \"SELECT 1 FROM pg_roles WHERE rolname='ferretdb'\"" | grep -q 1 ||
    su postgres -c "psql -q -c \"CREATE ROLE ferretdb LOGIN SUPERUSER PASSWORD 'ferretdb'\"" >&2
  su postgres -c "psql -qAt -c \"SELECT 1 FROM pg_database WHERE datname='$DB'\"" | grep -q 1 ||
    su postgres -c "psql -q -c \"CREATE DATABASE $DB OWNER ferretdb\"" >&2
}

build() {
  [ -x "$BIN" ] && return
  command -v go >/dev/null || { log "Go is needed to build FerretDB"; exit 1; }
  log "building FerretDB $VERSION (about a minute, once)"
  local dir src
  dir=$(cd "$(mktemp -d)" && go mod download -json "github.com/FerretDB/FerretDB@$VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [ -d "$dir" ] || { log "module download failed"; exit 1; }
  src=$HOME_DIR/src; rm -rf "$src"; mkdir -p "$HOME_DIR/bin"; cp -r "$dir" "$src"; chmod -R u+w "$src"
  echo "$VERSION" > "$src/build/version/version.txt"
  local f=$src/internal/handler/msg_update.go
  grep -q $'^\t\tdefer closer.Close()$' "$f" || { log "unexpected FerretDB source; patch not applied"; exit 1; }
  sed -i -e $'/^\t\tdefer closer.Close()$/d' \
         -e $'s/^\t\tresult, err := common.UpdateDocument(ctx, c, "update", iter, &u)$/&\\\n\t\tcloser.Close()/' "$f"
  grep -q $'^\t\tcloser.Close()$' "$f" || { log "patch failed"; exit 1; }
  (cd "$src" && GOFLAGS=-buildvcs=false go build -trimpath -o "$BIN" ./cmd/ferretdb) >&2
}

start() {
  [ "$BACKEND" = sqlite ] || ensure_postgres
  build
  if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    echo "export MONGODB_URI=mongodb://127.0.0.1:$PORT/"; return
  fi
  mkdir -p "$HOME_DIR/state-$PORT"
  local backend_flags=(--handler=postgresql --postgresql-url="postgres://ferretdb:ferretdb@127.0.0.1:5432/$DB")
  if [ "$BACKEND" = sqlite ]; then
    [ "${FERRETDB_KEEP_DATA:-0}" = 1 ] || rm -rf "$HOME_DIR/sqlite-$PORT"
    mkdir -p "$HOME_DIR/sqlite-$PORT"
    backend_flags=(--handler=sqlite --sqlite-url="file:$HOME_DIR/sqlite-$PORT/")
  fi
  nohup "$BIN" "${backend_flags[@]}" \
    --listen-addr="127.0.0.1:$PORT" --debug-addr="127.0.0.1:$((PORT + 1000))" --state-dir="$HOME_DIR/state-$PORT" \
    --telemetry=disable --log-level=warn > "$HOME_DIR/ferretdb-$PORT.log" 2>&1 &
  echo $! > "$PIDFILE"
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
      log "listening on 127.0.0.1:$PORT (pid $(cat "$PIDFILE"), log $HOME_DIR/ferretdb-$PORT.log)"
      echo "export MONGODB_URI=mongodb://127.0.0.1:$PORT/"; return
    fi
    sleep 0.1
  done
  log "did not start; last log lines:"; tail -n 20 "$HOME_DIR/ferretdb-$PORT.log" >&2; exit 1
}

stop() {
  [ -f "$PIDFILE" ] || return 0
  kill "$(cat "$PIDFILE")" 2>/dev/null || true
  rm -f "$PIDFILE"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
