#!/usr/bin/env bash
# Installs, from Debian 12 packages only, everything the build, tests, benchmarks and demo need.
# Idempotent: packages already present are skipped without touching the network.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  librocksdb-dev rocksdb-tools
  libcereal-dev librange-v3-dev librapidcheck-dev catch2
  libspdlog-dev libfmt-dev libssl-dev libcpp-httplib-dev nlohmann-json3-dev libcli11-dev libyaml-cpp-dev
  libbenchmark-dev wrk nginx-light
  nats-server libnats-dev
  libpcap-dev libabsl-dev tcpdump nmap hping3 dnsmasq-base apache2-utils dnsutils
  chromium chromium-driver python3-selenium
  pybind11-dev python3-dev python3-pytest python3-cryptography
  clang-format
  clang libclang-rt-14-dev clang-tidy-16
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
