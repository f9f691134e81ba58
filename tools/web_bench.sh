#!/usr/bin/env bash
# The web benchmark (issue 13; not a test): photo GETs with Debian's wrk
# against plain nginx serving the same photos as one file each
# (../shared/peers/nginx-files), against one of our stores directly
# (GET /<id>), and against our nginx cache (http://127.0.0.1:$p_web/<id>)
# when it answers; 20,000 photos of 4 KB, then of 64 KB; warm, and cold
# after `echo 3 > /proc/sys/vm/drop_caches` (root). Prints one table.
#   tools/web_bench.sh            from the repository (builds what it runs)
#   N=20000 SIZES="4096 65536" CONNS=32 WARM_S=5 COLD_S=12 BASE=7700
#   NGINX_PORT=18181 WORK=/tmp/peers-webbench
# How: a local cluster (tools/cluster.sh up: 3 directories, 5 stores, the
# replicator) gets N photos through `hs upload` (3 replicas each, the
# cluster's default); the same bytes become N files under plain nginx
# (sendfile, 2 workers = the cores). wrk reads the photos store-1 holds,
# from store-1 and the same files from nginx, in shuffled order, each of
# its threads a slice of them; warm: WARM_S seconds after a warm-up pass,
# cold: every photo once right after drop_caches (each wrk thread stops at
# the end of its slice; the rate is photos / wall time of that pass).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N=${N:-20000}
SIZES=${SIZES:-"4096 65536"}
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}
WARM_S=${WARM_S:-5}
COLD_S=${COLD_S:-12}
BASE=${BASE:-7700}
WORK=${WORK:-/tmp/peers-webbench}
export NGINX_RUN="$WORK/nginx" NGINX_PORT=${NGINX_PORT:-18181}
peers="$repo/../shared/peers/nginx-files"
[ -d "$peers" ] || peers=/work/shared/peers/nginx-files

die() { echo "web_bench: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "drop_caches needs root"
command -v wrk >/dev/null || die "wrk is missing: apt-get install wrk"
[ -x "$peers/up.sh" ] || die "no nginx-files peer at $peers"
case "$WORK" in /tmp/peers*) ;; *) die "WORK must be under /tmp/peers* (nginx-files' rule)" ;; esac

(cd "$repo" && bazel build //tools:cluster //client:hs >/dev/null 2>&1) ||
  die "bazel build //tools:cluster //client:hs failed"
cluster="$repo/bazel-bin/tools/cluster"
hs="$repo/bazel-bin/client/hs"
cdir="$WORK/cluster"
p_web=$((BASE + 3)); p_store1=$((BASE + 71))

cleanup() { # KEEP=1 keeps the photos and logs under $WORK
  "$cluster" down --dir "$cdir" --base-port "$BASE" >/dev/null 2>&1 || true
  "$peers/down.sh" >/dev/null 2>&1 || true
  [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK"
lua="$WORK/paths.lua"
cat > "$lua" <<'EOF'
-- wrk script: GETs of the paths in args[1], each of the args[3] threads
-- its own slice; args[2] "cold": every path of the slice once, then the
-- thread stops and done() prints "COLD <photos> <seconds> <errors>".
-- (setup and done share an environment of their own, and wrk calls a
-- thread's init right after its setup, before the next thread's setup.)
threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
local function now()
  local f = io.popen("date +%s.%N")
  local s = f:read("*l")
  f:close()
  return tonumber(s)
end
function init(args)
  paths = {}
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  mode, nthreads = args[2], tonumber(args[3])
  local per = math.floor(#paths / nthreads)
  lo = tid * per + 1
  hi = (tid == nthreads - 1) and #paths or lo + per - 1
  i, got, errs = lo - 1, 0, 0
  if mode == "cold" then t0 = now() else response = nil end
end
function request()
  i = i + 1
  if i > hi then i = lo end
  return wrk.format("GET", paths[i])
end
function response(status, headers, body)
  got = got + 1
  if status ~= 200 then errs = errs + 1 end
  if got == hi - lo + 1 then
    t1, fin = now(), got
    wrk.thread:stop()
  end
end
function done(summary, latency, requests)
  if threads[1]:get("mode") ~= "cold" then return end
  local n, e, first, last = 0, 0, nil, nil
  for _, t in ipairs(threads) do
    local a, b = t:get("t0"), t:get("t1")
    if b == nil then b = a + 1e9 end -- never finished: no figure
    n = n + (t:get("fin") or 0)
    e = e + t:get("errs")
    first = (first == nil or a < first) and a or first
    last = (last == nil or b > last) and b or last
  end
  io.write(string.format("COLD %d %.3f %d\n", n, last - first, e))
end
EOF

# wrk against base URL with the path list: req/s (warm) or photos/s (cold).
bench() { # URL PATHS warm|cold
  local out
  if [ "$3" = cold ]; then
    sync; echo 3 > /proc/sys/vm/drop_caches
    out="$(wrk -t"$THREADS" -c"$CONNS" -d"${COLD_S}s" -s "$lua" "$1" -- "$2" cold "$THREADS")"
    awk '/^COLD/ { if ($4 > 0 || $3 > 1e8) print "ERR"; else printf "%.0f\n", $2 / $3 }' <<<"$out"
  else
    wrk -t"$THREADS" -c"$CONNS" -d1s -s "$lua" "$1" -- "$2" warm "$THREADS" >/dev/null
    out="$(wrk -t"$THREADS" -c"$CONNS" -d"${WARM_S}s" -s "$lua" "$1" -- "$2" warm "$THREADS")"
    if grep -q "Non-2xx" <<<"$out"; then echo ERR; return; fi
    awk '/^Requests\/sec:/ { printf "%.0f\n", $2 }' <<<"$out"
  fi
}

# N photos of size bytes (JPEG magic, then random bytes) uploaded to the
# cluster and written as files under nginx; paths files for both.
load() { # SIZE
  local size="$1" stage="$WORK/stage" objs="$NGINX_RUN/data/objects/p"
  rm -rf "$stage"; mkdir -p "$stage" "$objs"
  python3 - "$stage" "$N" "$size" <<'EOF'
import os, sys
d, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    with open(f"{d}/{i:06d}.jpg", "wb") as f:
        f.write(b"\xff\xd8\xff\xe0" + os.urandom(size - 4))
EOF
  local t0=$SECONDS
  (cd "$stage" && ls | xargs -n 1000 "$hs" --cluster "$cdir/cluster" upload) > "$WORK/ids"
  [ "$(wc -l < "$WORK/ids")" = "$N" ] || die "upload: $(wc -l < "$WORK/ids") ids for $N photos"
  echo "  uploaded $N photos of $size bytes in $((SECONDS - t0)) s" >&2
  (cd "$stage" && ls) | paste - "$WORK/ids" | while read -r f id; do
    mv "$stage/$f" "$objs/$id"
  done
  chown -R www-data:www-data "$NGINX_RUN/data"
  # The photos store-1 holds (3 of 5 stores hold each): one curl, kept alive.
  sed "s|.*|url = http://127.0.0.1:$p_store1/&|" "$WORK/ids" > "$WORK/curl.cfg"
  curl -s -I -K "$WORK/curl.cfg" -o /dev/null -w '%{http_code} %{url_effective}\n' |
    awk '$1 == 200 { sub(".*/", "", $2); print $2 }' | shuf > "$WORK/held"
  sed 's|^|/|' "$WORK/held" > "$WORK/paths.store"
  sed 's|^|/objects/p/|' "$WORK/held" > "$WORK/paths.nginx"
  echo "  store-1 holds $(wc -l < "$WORK/held") of them: those are read" >&2
}

row() { # NAME URL PATHS
  printf '%-22s %10s %10s\n' "$1" "$(bench "$2" "$3" warm)" "$(bench "$2" "$3" cold)"
}

"$peers/up.sh" >/dev/null
table=""
for size in $SIZES; do
  "$cluster" down --dir "$cdir" --base-port "$BASE" >/dev/null 2>&1 || true
  rm -rf "$cdir" "$NGINX_RUN/data/objects/p"
  "$cluster" up --dir "$cdir" --base-port "$BASE" >/dev/null
  echo "photos of $size bytes:" >&2
  load "$size"
  # Cold first for each server, so no server reads from the other's warm
  # pass (they are separate files, but the same disk).
  nginx_r="$(row "plain nginx (files)" "http://127.0.0.1:$NGINX_PORT" "$WORK/paths.nginx")"
  store_r="$(row "store-1 directly" "http://127.0.0.1:$p_store1" "$WORK/paths.store")"
  cache_r=""
  first="$(head -1 "$WORK/paths.store")"
  if curl -sf -o /dev/null "http://127.0.0.1:$p_web$first"; then
    cache_r="$(row "our nginx cache" "http://127.0.0.1:$p_web" "$WORK/paths.store")"
  fi
  ratio() { # COLUMN
    awk -v c="$1" 'NR == 1 { n = $c } NR == 2 { s = $c }
      END { if (n > 0 && s > 0) printf "%.2fx", s / n; else print "-" }' \
      <<<"$(awk '{ print $(NF-1), $NF }' <<<"$nginx_r
$store_r")"
  }
  table+="$(printf '\n%s bytes x %s photos (%s read), wrk -t%s -c%s\n' "$size" "$N" \
    "$(wc -l < "$WORK/held")" "$THREADS" "$CONNS")
$(printf '%-22s %10s %10s\n' "" "warm r/s" "cold r/s")
$nginx_r
$store_r
${cache_r:-$(printf '%-22s %10s %10s' "our nginx cache" "-" "-")}
$(printf '%-22s %10s %10s' "ours / nginx" "$(ratio 1)" "$(ratio 2)")
"
done
echo "$table"
