#!/usr/bin/env bash
# The README's first command. Installs what is missing, builds everything,
# and shows the system working. Until the store and directory services
# land, it runs the RPC runtime's example: an echo server and a client
# calling it over nng with an authenticated envelope.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
echo "== building everything"
bazel build //... 2>&1 | grep -E 'ERROR|error:|warning:' || true
bazel build //... >/dev/null 2>&1
bin=bazel-bin/proto
out=$(mktemp)
"$bin/echo_server" --listen=tcp://127.0.0.1:0 >"$out" 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null; rm -f "$out"' EXIT
for _ in $(seq 100); do [ -s "$out" ] && break; sleep 0.05; done
url=$(head -1 "$out")
echo "== echo_server listening on $url"
"$bin/echo_client" --server="$url" --message="hello, haystack"
