#!/usr/bin/env bash
# The HTTP load test of issue 18: 64 concurrent loopback clients (wrk) for 10 s against
# `witness serve` on tiles, entry pages, single entries and proofs, and against nginx serving
# the same full tiles as static files, in the same run; prints requests/s, p99 and the ratio
# to nginx. Timings are printed, never asserted (machines are noisy).
# Usage: scripts/bench-serve.sh [BUILD_DIR] [SECONDS] [CONNECTIONS] [ENTRIES]
set -euo pipefail
build="${1:-build/release}"
seconds="${2:-10}"
conns="${3:-64}"
entries="${4:-100000}"
W="$build/tools/witness"
[ -x "$W" ] || { echo "no $W: run 'make build' first" >&2; exit 2; }
for tool in wrk nginx python3; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] ||
    { echo "$tool not found: bash scripts/install-deps.sh" >&2; exit 2; }
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

echo "building a ledger of $entries entries..."
python3 - "$work/lines.jsonl" "$entries" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        f.write(json.dumps({"origin": "agent.a%d" % (i % 50), "kind": "agent.action",
                            "timestamp": 1800000000000000000 + i, "walk": "w%d" % (i % 1000),
                            "payload": {"i": i, "msg": "x" * 200}}) + "\n")
PY
"$W" init --ledger "$work/ledger" >/dev/null
"$W" append --ledger "$work/ledger" "$work/lines.jsonl" >/dev/null

"$W" serve --ledger "$work/ledger" --listen 127.0.0.1:0 --threads "$conns" --access-log off \
  >"$work/serve.out" 2>"$work/serve.err" &
pids+=($!)
port=""
for _ in $(seq 100); do
  port=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\)/$|\1|p' "$work/serve.out")
  [ -n "$port" ] && break; sleep 0.05
done
[ -n "$port" ] || { cat "$work/serve.err" >&2; exit 1; }

# The same full tiles as static files for nginx, fetched from the server; and the request lists.
python3 - "$port" "$entries" "$work" <<'PY'
import os, random, sys, urllib.request
port, n, work = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def idx(i):
    g = []
    while True:
        g.append(i % 1000); i //= 1000
        if i == 0: break
    g.reverse()
    return "/".join(("x%03d" if k < len(g) - 1 else "%03d") % v for k, v in enumerate(g))
tiles = ["/tile/0/%s" % idx(i) for i in range(n // 256)]
tiles += ["/tile/1/%s" % idx(i) for i in range(n // 65536)]
tiles += ["/tile/entries/%s" % idx(i) for i in range(n // 256)]
for p in tiles:
    data = urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, p)).read()
    path = os.path.join(work, "www", p.lstrip("/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
rng = random.Random(1)
lists = {
    "tiles": tiles,
    "pages": ["/v1/entries?origin=agent.a%d&order=newest&limit=20" % rng.randrange(50)
              for _ in range(1000)],
    "entries": ["/v1/entries/%d" % rng.randrange(n) for _ in range(1000)],
    "proofs": ["/v1/proofs/inclusion?seq=%d" % rng.randrange(n) for _ in range(1000)],
}
for name, paths in lists.items():
    with open(os.path.join(work, name + ".txt"), "w") as f:
        f.write("\n".join(paths) + "\n")
PY

# nginx's workers run as an unprivileged user: let them read the files.
chmod 755 "$work"; chmod -R a+rX "$work/www"
cat >"$work/nginx.conf" <<NGX
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx.err;
events { worker_connections 1024; }
http {
  access_log off;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:0;
    root $work/www;
  }
}
NGX
# nginx cannot report a chosen port: pick a free one first.
nport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -i "s|listen 127.0.0.1:0;|listen 127.0.0.1:$nport;|" "$work/nginx.conf"
"$NGINX" -p "$work" -c "$work/nginx.conf" -g 'daemon off;' &
pids+=($!)
sleep 0.5

cat >"$work/paths.lua" <<'LUA'
local paths = {}
for line in io.lines(os.getenv("WRK_PATHS")) do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i * 7919) % #paths + 1])
end
LUA

load() {  # load NAME PORT: requests/s and p99 (ms) of one wrk run
  WRK_PATHS="$work/$1.txt" wrk -t2 -c"$conns" -d"${seconds}s" --latency -s "$work/paths.lua" \
    "http://127.0.0.1:$2" >"$work/wrk.out" 2>&1
  local rps p99 errors
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/wrk.out")
  p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.out")
  errors=$(awk '/Non-2xx|Socket errors/' "$work/wrk.out" | tr '\n' ' ')
  echo "$rps $p99 $errors"
}

echo "load: $conns connections, ${seconds}s each, wrk -t2, loopback, $entries entries"
read -r ng_rps ng_p99 ng_err <<<"$(load tiles "$nport")"
read -r wt_rps wt_p99 wt_err <<<"$(load tiles "$port")"
read -r wp_rps wp_p99 wp_err <<<"$(load pages "$port")"
read -r we_rps we_p99 we_err <<<"$(load entries "$port")"
read -r wr_rps wr_p99 wr_err <<<"$(load proofs "$port")"
printf '  %-44s %10s req/s  p99 %8s %s\n' "nginx: full tiles and bundles (static files)" "$ng_rps" "$ng_p99" "$ng_err"
printf '  %-44s %10s req/s  p99 %8s %s\n' "witness: the same tiles and bundles" "$wt_rps" "$wt_p99" "$wt_err"
printf '  %-44s %10s req/s  p99 %8s %s\n' "witness: /v1/entries pages of 20 (newest)" "$wp_rps" "$wp_p99" "$wp_err"
printf '  %-44s %10s req/s  p99 %8s %s\n' "witness: /v1/entries/<seq>" "$we_rps" "$we_p99" "$we_err"
printf '  %-44s %10s req/s  p99 %8s %s\n' "witness: /v1/proofs/inclusion" "$wr_rps" "$wr_p99" "$wr_err"
python3 -c "import sys; print('  tiles: witness / nginx = %.2fx (target >= 0.5x)' % (float(sys.argv[1]) / float(sys.argv[2])))" "$wt_rps" "$ng_rps"
