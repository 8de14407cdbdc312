#!/usr/bin/env bash
# The project's fallback MongoDB-wire server for `npm test` / `npm run dev` when neither MONGODB_URI
# nor a downloadable mongod is available (scripts/local-mongo.ts): FerretDB 1.24.2 (Go module
# proxy), on SQLite by default (no root), on 127.0.0.1 only. It mirrors the team's
# ../shared/tools/ferretdb.sh and its patches (atomic writes, `_id` index lookups); only the defaults
# differ (port 27027, SQLite, FERRETDB_KEEP_DATA for dev).
#
#   eval "$(bash scripts/ferretdb.sh start)"   # builds once, starts, prints: export MONGODB_URI=...
#   bash scripts/ferretdb.sh stop
#
# Env: FERRETDB_PORT (27027), FERRETDB_HOME (cache, binary and state; default ~/.cache/ferretdb-1.24.2-p3),
#      FERRETDB_BACKEND: sqlite (default; only Go: no root, no PostgreSQL; fine for test-sized data,
#      slow past a few thousand documents) or postgresql (installs Debian's PostgreSQL, needs root),
#      FERRETDB_KEEP_DATA=1 keeps the SQLite files between starts (npm run dev).
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
# - v1.24.2 applies an update by reading the document, running the operators in Go and writing it
#   back: two concurrent conditional updates of one document could both match, and concurrent $max
#   or $inc lost writes (10 of 10 rounds of 20 racing updates). A process-wide lock around update,
#   findAndModify and delete commands makes each one atomic, as on MongoDB (0 of 10 rounds after).
#   Writes are serialised across connections: fine for tests, not a production server.
# - v1.24.2 never used the _id index: `_id: v` becomes `_jsonb->'_id' @> v` (@> is not a btree operator)
#   and `_id: {$in: [...]}` is not pushed down. For string and ObjectId ids, both now become _id-index
#   lookups, in find, count, aggregate, update, findAndModify and delete (100k documents: find by _id
#   21-71 ms -> 1-2 ms, 500-id $in 4.3-7.3 s -> 47-81 ms; same results). Other id types still scan.
# Known gaps of FerretDB 1.24 that real MongoDB does not have: no TTL indexes, no transactions, no
# change streams, no $lookup/$facet, most $group accumulators and expression operators missing, no
# collation or partial indexes, and bulkWrite(ordered:false) stops at the first write error.
# Lookups other than by a string or ObjectId _id scan the table.
# Production runs on real MongoDB: design for it.
set -euo pipefail

VERSION=v1.24.2
PORT=${FERRETDB_PORT:-27027}
HOME_DIR=${FERRETDB_HOME:-$HOME/.cache/ferretdb-1.24.2-p3}
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
  # Atomic writes: 1.24 reads a document, applies the operators in Go and writes it back, so two
  # concurrent conditional updates of one document can both match. One lock around every write
  # command makes each update, findAndModify and delete atomic, as MongoDB's are.
  printf 'package handler\n\nimport "sync"\n\n// writeMu serialises write commands so that each applies atomically.\nvar writeMu sync.Mutex\n' \
    > "$src/internal/handler/write_lock.go"
  local h=$src/internal/handler
  sed -i -e $'s/^\tmatched, modified, upserted, err := h.updateDocument(connCtx, params)$/\twriteMu.Lock()\\\n\tdefer writeMu.Unlock()\\\n&/' "$h/msg_update.go"
  sed -i -e $'s/^\tres, err := h.findAndModifyDocument(connCtx, params)$/\twriteMu.Lock()\\\n\tdefer writeMu.Unlock()\\\n&/' "$h/msg_findandmodify.go"
  sed -i -e $'s/^\tfor i, p := range params.Deletes {$/\twriteMu.Lock()\\\n\tdefer writeMu.Unlock()\\\n&/' "$h/msg_delete.go"
  [ "$(cat "$h/msg_update.go" "$h/msg_findandmodify.go" "$h/msg_delete.go" | grep -c $'^\tdefer writeMu.Unlock()$')" = 3 ] ||
    { log "write-lock patch failed"; exit 1; }
  # _id lookups through the _id index. 1.24 pushes `_id: v` down as `_jsonb->$1 @> $2`: @> is not a
  # btree operator, so the unique index on (_jsonb->'_id') is never used; `_id: {$in: [...]}` is not
  # pushed down at all. For a string or ObjectID _id (never an array, so = and @> agree) these emit
  # `_jsonb->'_id' = $n::jsonb` / `= ANY($n::jsonb[])`, values encoded as stored (sjson). A superset
  # is enough: every caller (find, count, distinct, aggregate, update, findAndModify, delete) filters
  # the rows again in Go. Other element types keep 1.24's behaviour. Unsorted results of these queries
  # come in _id-index order instead of insertion order (neither is specified by MongoDB).
  local pq=$src/internal/backends/postgresql
  cat > "$pq/query_id.go" <<'EOF'
package postgresql

import (
	"fmt"
	"strings"

	"github.com/FerretDB/FerretDB/internal/backends/postgresql/metadata"
	"github.com/FerretDB/FerretDB/internal/handler/sjson"
	"github.com/FerretDB/FerretDB/internal/types"
)

// idValue returns v as FerretDB stores an _id in _jsonb, if v is a string or an ObjectID.
func idValue(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		if strings.ContainsRune(v, 0) { // jsonb rejects \u0000
			return "", false
		}
	case types.ObjectID:
	default:
		return "", false
	}

	b, err := sjson.MarshalSingleValue(v)
	if err != nil {
		return "", false
	}

	return string(b), true
}

// filterEqualOrID is filterEqual, but for a string or ObjectID _id it returns a filter that the _id index serves.
func filterEqualOrID(p *metadata.Placeholder, rootKey string, k any, v any, operator string) (string, []any) {
	if s, ok := idValue(v); ok && rootKey == "_id" {
		return fmt.Sprintf(`%s = %s::jsonb`, metadata.IDColumn, p.Next()), []any{s}
	}

	return filterEqual(p, k, v, operator)
}

// filterIDIn returns a filter for {_id: {$in: [...]}} that the _id index serves,
// or "" (no pushdown) unless every element is a string or an ObjectID.
func filterIDIn(p *metadata.Placeholder, rootKey string, v any) (string, []any) {
	arr, ok := v.(*types.Array)
	if rootKey != "_id" || !ok {
		return "", nil
	}

	vals := make([]string, arr.Len())

	for i := range vals {
		e, err := arr.Get(i)
		if err != nil {
			return "", nil
		}

		if vals[i], ok = idValue(e); !ok {
			return "", nil
		}
	}

	return fmt.Sprintf(`%s = ANY(%s::jsonb[])`, metadata.IDColumn, p.Next()), []any{vals}
}
EOF
  sed -i -e 's/filterEqual(p, key, v, keyOperator)/filterEqualOrID(p, rootKey, key, v, keyOperator)/' \
         -e $'s/^\t\t\t\tcase "$ne":$/\t\t\t\tcase "$in":\\\n\t\t\t\t\tif f, a := filterIDIn(p, rootKey, v); f != "" {\\\n\t\t\t\t\t\tfilters = append(filters, f)\\\n\t\t\t\t\t\targs = append(args, a...)\\\n\t\t\t\t\t}\\\n\\\n&/' \
      "$pq/query.go"
  [ "$(grep -c 'filterEqualOrID(p, rootKey, key, v, keyOperator)' "$pq/query.go")" = 2 ] &&
    grep -q $'^\t\t\t\t\tif f, a := filterIDIn(p, rootKey, v); f != "" {$' "$pq/query.go" ||
    { log "_id pushdown patch failed"; exit 1; }
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
