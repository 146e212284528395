#!/usr/bin/env bash
# Real traffic on loopback for the detector (docs/detector.md, issue 17): real servers and
# clients on 127.x.y.z addresses, real attack tools, captured by tcpdump into a pcap, with the
# attack windows written down as ground truth. Then `witness detect --pcap` reads the capture
# and reports recall and false-positive rate per phase.
#
#   servers   python3 http.server on 127.0.10.1:8080 and 127.0.10.2:8080, dnsmasq on
#             127.0.10.53:53 (answers *.corp.test itself)
#   normal    CLIENTS curl loops (each bound to its own 127.0.20.x, random pages, think times)
#             and dig loops (own 127.0.20.x), all through the run
#   attacks   nmap SYN scan of 127.0.10.1 from a normal-range address (-S 127.0.20.77);
#             hping3 SYN flood on 127.0.10.2:8080 (spoofed 127.0.20.99);
#             ab HTTP flood on 127.0.10.1:8080 (ab binds no address: it comes from 127.0.0.1)
#   capture   tcpdump -i lo of the servers' and clients' networks (not the machine's other
#             loopback traffic), snap length 128
#   truth     truth.json: [{phase, start_ns, end_ns, hosts}] per attack (what `--truth` reads)
#
# Every tool is bounded in count and time and sends to loopback only. Needs root (tcpdump,
# nmap -sS, hping3) and the tools scripts/install-deps.sh installs.
#
# usage: scripts/detector-harness.sh BUILD_DIR [OUT_DIR] [NORMAL_S] [SCALE]
#   NORMAL_S  seconds of normal traffic before the first attack (default 40: the short form
#             `make test` runs; docs/detector.md has a long form)
#   SCALE     multiplies every attack's length (default 1)
set -euo pipefail

BUILD=${1:?usage: detector-harness.sh BUILD_DIR [OUT_DIR] [NORMAL_S] [SCALE]}
W=$(cd "$BUILD" && pwd)/tools/witness
OUT=${2:-$(mktemp -d /tmp/witness-harness.XXXXXX)}
NORMAL_S=${3:-40}
SCALE=${4:-1}
CLIENTS=${CLIENTS:-12}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
say() { echo "detector-harness: $*"; }

for tool in tcpdump nmap hping3 dnsmasq ab dig curl python3; do
  command -v "$tool" >/dev/null || { say "$tool not found (scripts/install-deps.sh installs it)"; exit 1; }
done
if [ "$(id -u)" -ne 0 ]; then say "needs root (raw sockets for tcpdump, nmap -sS, hping3)"; exit 1; fi

PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

now_ns() { date +%s%N; }
# Loopback answers every 127/8 address; the servers bind their own.
mkdir -p "$OUT/www"
for i in $(seq 1 40); do head -c $((RANDOM % 20000 + 200)) /dev/urandom | base64 > "$OUT/www/page$i.html"; done

tcpdump -i lo -n -s 128 -U -w "$OUT/capture.pcap" 'net 127.0.10.0/24 or net 127.0.20.0/24' \
  2>"$OUT/tcpdump.log" &
PIDS+=($!)
sleep 1

(cd "$OUT/www" && exec python3 -m http.server 8080 --bind 127.0.10.1 >"$OUT/http1.log" 2>&1) &
PIDS+=($!)
(cd "$OUT/www" && exec python3 -m http.server 8080 --bind 127.0.10.2 >"$OUT/http2.log" 2>&1) &
PIDS+=($!)
dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces --listen-address=127.0.10.53 \
  --port=53 --address=/corp.test/127.0.10.1 --log-facility="$OUT/dnsmasq.log" &
PIDS+=($!)
sleep 1

STOP="$OUT/stop"
rm -f "$STOP"
# A client: DNS lookups and page loads from its own address, with think times.
client() {
  local addr=$1
  while [ ! -e "$STOP" ]; do
    dig +short +tries=1 +time=1 -b "$addr" @127.0.10.53 "host$((RANDOM % 50)).corp.test" >/dev/null 2>&1 || true
    local server=127.0.10.$((RANDOM % 2 + 1))
    for _ in $(seq 1 $((RANDOM % 4 + 1))); do
      curl -s -o /dev/null --noproxy '*' --max-time 2 --interface "$addr" \
        "http://$server:8080/page$((RANDOM % 40 + 1)).html" || true
    done
    sleep "0.$((RANDOM % 9 + 1))"
  done
}
for c in $(seq 1 "$CLIENTS"); do
  client "127.0.20.$((c + 10))" &
  PIDS+=($!)
done

TRUTH="$OUT/truth.json"
echo "[" > "$TRUTH"
first=1
window() {  # phase start end hosts...
  local phase=$1 start=$2 end=$3
  shift 3
  local hosts
  hosts=$(printf '"%s",' "$@")
  [ $first -eq 1 ] || echo "," >> "$TRUTH"
  first=0
  printf '{"phase":"%s","start_ns":%s,"end_ns":%s,"hosts":[%s]}' "$phase" "$start" "$end" "${hosts%,}" >> "$TRUTH"
}
secs() { awk -v a="$1" -v s="$SCALE" 'BEGIN { printf "%d", a * s }'; }

say "normal traffic for ${NORMAL_S} s ($CLIENTS clients)"
sleep "$NORMAL_S"

say "nmap SYN scan of 127.0.10.1 from 127.0.20.77"
t0=$(now_ns)
timeout $(( $(secs 20) + 5 )) nmap -n -Pn -sS -e lo -S 127.0.20.77 -p 1-$(( 1500 * SCALE )) --max-rate 150 \
  127.0.10.1 >"$OUT/nmap.log" 2>&1 || true
t1=$(now_ns)
window port-scan "$t0" "$t1" 127.0.20.77
sleep 10

say "hping3 SYN flood on 127.0.10.2:8080 from 127.0.20.99"
t0=$(now_ns)
timeout $(( $(secs 5) + 5 )) hping3 -q -S -p 8080 -a 127.0.20.99 -i u500 -c $(( 10000 * SCALE )) 127.0.10.2 \
  >"$OUT/hping3.log" 2>&1 || true
t1=$(now_ns)
window syn-flood "$t0" "$t1" 127.0.20.99
sleep 10

say "ab HTTP flood on 127.0.10.1:8080"
t0=$(now_ns)
timeout $(( $(secs 8) + 5 )) ab -q -s 2 -t "$(secs 8)" -n $(( 4000 * SCALE )) -c 8 http://127.0.10.1:8080/page1.html \
  >"$OUT/ab.log" 2>&1 || true
t1=$(now_ns)
window http-flood "$t0" "$t1" 127.0.0.1
sleep 10

echo "]" >> "$TRUTH"
touch "$STOP"
sleep 2
cleanup
trap - EXIT
say "capture $(du -h "$OUT/capture.pcap" | cut -f1), truth $TRUTH"
"$W" pcap "$OUT/capture.pcap" --truth "$TRUTH" --out "$OUT/packets.jsonl"
echo "$OUT"
