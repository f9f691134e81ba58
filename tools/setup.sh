#!/usr/bin/env bash
# Installs every Debian package haystack-c needs to build, test and run a
# local cluster, only when something is missing; silent when all is there.
# Idempotent; both README commands run it first.
set -euo pipefail

PACKAGES=(
  bazel-bootstrap        # Bazel 4.2.3, builds offline with third_party/ shims
  gcc libc6-dev          # the C toolchain
  protobuf-c-compiler    # protoc-c for proto/*.proto
  libprotobuf-c-dev
  libnng-dev             # nng 1.5.2: REQ/REP, PUB/SUB
  libhiredis-dev
  libssl-dev             # HMAC-SHA256, SHA-256
  redis-server           # metadata, elections, cache (tests start their own)
  redis-sentinel         # the metadata Redis's failover (cluster.sh --sentinel, sentinel_test)
  nginx libnginx-mod-stream  # TCP load balancer in front of the directories
  iproute2 procps        # ip netns for partition tests; ps/pgrep/kill
  libmicrohttpd-dev      # the web face's HTTP server (runtime/http.c)
  curl                   # tests and the demo fetch photos over HTTP
  chromium               # status_page_test renders the status page headless
  prometheus             # promtool and a real Prometheus for /metrics (prometheus_test)
  libcurl4-openssl-dev   # HTTP client library: cache purges, the chaos soak
  libnginx-mod-http-cache-purge  # the web cache's purge on delete (testing/nginx.conf.template)
  systemd binutils       # the Debian package: systemd-analyze verify on its units, readelf/strip (tools/deb.sh, package_test)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts the packaged redis and nginx services on install; the
# project starts its own instances on its own ports, so stop those quietly.
for svc in redis-server redis-sentinel nginx; do
  $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
echo "setup: done" >&2
