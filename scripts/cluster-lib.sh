# Shared by scripts/cluster-test.sh and scripts/bench-cluster.sh (sourced, not run): a 3-node
# NATS JetStream cluster and witness replicas on loopback, in $WORK, with free ports. Every
# process started is recorded in $WORK/*.pid and killed by cluster_cleanup.
#   needs: W (the witness binary), WORK (a fresh directory)

say() { echo "${SAY_AS:-cluster}: $*"; }

cluster_cleanup() {
  local rc=$?
  for f in "$WORK"/*.pid; do
    [ -f "$f" ] || continue
    kill -CONT "$(cat "$f")" 2>/dev/null || true
    kill -9 "$(cat "$f")" 2>/dev/null || true
  done
  if [ $rc -ne 0 ]; then
    echo "${SAY_AS:-cluster}: FAILED (exit $rc); logs:" >&2
    for log in "$WORK"/*.log; do echo "--- $log" >&2; tail -15 "$log" >&2; done
  fi
  if [ "${KEEP:-0}" = 1 ]; then echo "${SAY_AS:-cluster}: kept $WORK" >&2; else rm -rf "$WORK"; fi
}

# Six free loopback ports: a client and a route port per NATS node.
read -r -a PORTS <<<"$(python3 -c '
import socket
s=[socket.socket() for _ in range(6)]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))')"
NATS_URLS="nats://127.0.0.1:${PORTS[0]},nats://127.0.0.1:${PORTS[1]},nats://127.0.0.1:${PORTS[2]}"
ROUTES="nats-route://127.0.0.1:${PORTS[3]},nats-route://127.0.0.1:${PORTS[4]},nats-route://127.0.0.1:${PORTS[5]}"

start_nats() {  # N (1..3)
  local n=$1
  cat >"$WORK/nats$n.conf" <<CONF
server_name: n$n
listen: 127.0.0.1:${PORTS[$((n - 1))]}
jetstream { store_dir: "$WORK/js$n", max_file_store: 8G, max_memory_store: 64M }
cluster {
  name: witness-test
  listen: 127.0.0.1:${PORTS[$((n + 2))]}
  routes: [${ROUTES}]
}
CONF
  nats-server -c "$WORK/nats$n.conf" >>"$WORK/nats$n.log" 2>&1 &
  echo $! >"$WORK/nats$n.pid"
  disown  # its kill -9 is a fault, not news
}

# Starts the 3 nodes and makes stream $1 (R3); JetStream needs its meta leader first.
start_cluster() {  # STREAM
  local n
  for n in 1 2 3; do start_nats $n; done
  for _ in $(seq 1 60); do
    if "$W" cluster init --nats "$NATS_URLS" --stream "$1" --replicas 3 >"$WORK/init.out" 2>&1; then break; fi
    sleep 0.5
  done
  grep -q ready "$WORK/init.out" || { cat "$WORK/init.out"; return 1; }
  say "$(cat "$WORK/init.out")"
}

start_replica() {  # NAME LEDGER [extra replica options...] (its key: $WORK/NAME.pem)
  local name=$1 ledger=$2
  shift 2
  [ -f "$WORK/$name.pem" ] || "$W" keygen "$WORK/$name.pem" >/dev/null
  "$W" replica --ledger "$ledger" --nats "$NATS_URLS" --stream "${STREAM:-test}" --name "$name" \
    --key "$WORK/$name.pem" "$@" >>"$WORK/replica-$name.log" 2>&1 &
  echo $! >"$WORK/replica-$name.pid"
  disown
}

stop_replica() {  # NAME: SIGTERM, then wait for it to exit (it finishes its batch first)
  local pid
  pid=$(cat "$WORK/replica-$1.pid")
  kill -TERM "$pid"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  say "replica $1 did not stop on SIGTERM"; return 1
}

size_of() { "$W" stats --ledger "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])'; }
root_of() { "$W" stats --ledger "$1" --json | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["merkle_root"], j["chain_head"])'; }

# Waits until ledgers $@ hold the same number of entries, twice in a row; prints it.
wait_converged() {
  local last="" sizes s
  for _ in $(seq 1 240); do
    sizes=""
    for l in "$@"; do s=$(size_of "$l"); sizes="$sizes $s"; done
    if [ "$(echo $sizes | tr ' ' '\n' | sort -u | wc -l)" = 1 ] && [ "$sizes" = "$last" ]; then
      echo "${sizes## }" | cut -d' ' -f1; return 0
    fi
    last=$sizes
    sleep 0.5
  done
  say "did not converge:$sizes"; return 1
}
