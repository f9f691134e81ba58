#!/usr/bin/env bash
# vs_ceph: haystack-c side by side with Ceph RADOS on this machine, in one
# run (issue 11's "Benchmark (not a test)"): our cluster up, tools:bench
# --json at each concurrency, our cluster down; then Ceph (3 OSDs, pool size
# 3, ../shared/peers/ceph) up, rados bench at the same object sizes and
# concurrency, Ceph down; then one table of ratios with the issue's targets.
# Never two benchmarks at once; everything it started is stopped on any exit.
#   tools/vs_ceph.sh                 (from the repository; takes ~15 min)
# Settings (environment): CLIENTS="16 64"  N=20000 (photos / objects of each
# size)  DURATION=5s (each bench phase)  T_RAND=15 (s of Ceph random reads)
# PEERS=/work/shared/peers  OUT=<dir for the raw outputs>  BASE_PORT=7800
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLIENTS=${CLIENTS:-16 64}
N=${N:-20000}
DURATION=${DURATION:-5s}
T_RAND=${T_RAND:-15}
BASE_PORT=${BASE_PORT:-7800}
PEERS=${PEERS:-/work/shared/peers}
[ -d "$PEERS/ceph" ] || PEERS="$repo/../shared/peers"
OUT=${OUT:-$(mktemp -d /tmp/vs_ceph.XXXXXX)}
hsdir="$OUT/hs"
ceph_up=0
hs_up=0

say() { echo "vs_ceph: $*" >&2; }

cleanup() {
	local rc=$?
	if [ "$hs_up" = 1 ]; then
		say "stopping our cluster"
		(cd "$repo" && bazel run //tools:cluster -- down --dir "$hsdir" \
			--base-port "$BASE_PORT") >/dev/null 2>&1 || true
	fi
	if [ "$ceph_up" = 1 ]; then
		say "stopping ceph"
		"$PEERS/ceph/down.sh" >/dev/null 2>&1 || true
	fi
	rm -rf "$hsdir"
	[ "$rc" = 0 ] || say "failed (status $rc); raw outputs in $OUT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$OUT"
say "raw outputs in $OUT"
cd "$repo"
bazel build //tools:bench //tools:cluster >"$OUT/build.log" 2>&1 ||
	{ tail -20 "$OUT/build.log" >&2; exit 1; }
bench="$(bazel info bazel-bin 2>/dev/null)/tools/bench"

# --- ours ---------------------------------------------------------------
say "our cluster up (${hsdir}, ports from $BASE_PORT)"
hs_up=1
bazel run //tools:cluster -- up --dir "$hsdir" --base-port "$BASE_PORT" \
	>"$OUT/hs-up.log" 2>&1 || { tail -20 "$OUT/hs-up.log" >&2; exit 1; }
for c in $CLIENTS; do
	say "tools:bench, $c clients (progress below)"
	# 2: a close overran its bound after the figures were printed
	"$bench" --cluster="$hsdir/cluster" --clients="$c" --json \
		--random-photos="$N" --duration="$DURATION" >"$OUT/hs-$c.json" ||
		[ $? = 2 ]
done
say "our cluster down"
bazel run //tools:cluster -- down --dir "$hsdir" --base-port "$BASE_PORT" \
	>>"$OUT/hs-up.log" 2>&1
hs_up=0
rm -rf "$hsdir" # the photos: several GB

# --- Ceph ---------------------------------------------------------------
say "ceph up (OSDS=3 REPLICAS=3)"
ceph_up=1
if OSDS=3 REPLICAS=3 "$PEERS/ceph/up.sh" >"$OUT/ceph-up.log" 2>&1; then
	for c in $CLIENTS; do
		for s in 4096 65536; do
			say "rados bench, $s B objects, $c in flight"
			N=$N S=$s C=$c T_RAND=$T_RAND "$PEERS/ceph/bench.sh" \
				>"$OUT/ceph-$s-$c.txt" 2>&1 ||
				say "rados bench $s B x $c failed (see $OUT/ceph-$s-$c.txt)"
		done
	done
else
	say "ceph did not come up; the last lines of its log:"
	tail -20 "$OUT/ceph-up.log" >&2
fi
"$PEERS/ceph/down.sh" >"$OUT/ceph-down.log" 2>&1 || true
ceph_up=0

# --- the table ----------------------------------------------------------
python3 - "$OUT" $CLIENTS <<'EOF'
import glob, json, os, re, sys
out, clients = sys.argv[1], [int(c) for c in sys.argv[2:]]
ours = {}
for c in clients:
    with open(os.path.join(out, "hs-%d.json" % c)) as f:
        ours[c] = {p["key"]: p for p in json.load(f)["phases"]}
theirs = {}
for path in glob.glob(os.path.join(out, "ceph-*-*.txt")):
    for line in open(path):
        if line.startswith("RESULT "):
            kv = dict(x.split("=", 1) for x in line.split()[1:])
            theirs[(kv["phase"], int(kv["size"]), int(kv["conc"]))] = \
                float(kv["ops_per_s"])
targets = {("upload", 4096, 16): 2.5, ("upload", 4096, 64): 3.5,
           ("random", 4096, 16): 1.2, ("random", 4096, 64): 1.2}
print("| what | in flight | haystack-c ops/s | Ceph ops/s | ratio | target | verdict |")
print("|---|---|---|---|---|---|---|")
for kind, ours_key, ceph_phase, label in (
        ("upload", "upload", "WRITE", "uploads (3 durable copies) vs writes (size 3)"),
        ("random", "random", "RANDREAD", "random reads (cold, cache off) vs random reads")):
    for size, tag in ((4096, "4k"), (65536, "64k")):
        for c in clients:
            p = ours[c].get("%s_%s" % (ours_key, tag))
            mine = p["ops_per_s"] if p else None
            peer = theirs.get((ceph_phase, size, c))
            ratio = mine / peer if mine and peer else None
            t = targets.get((kind, size, c))
            verdict = "" if t is None or ratio is None else \
                ("PASS" if ratio >= t else "MISS")
            print("| %s %s | %d | %s | %s | %s | %s | %s |" % (
                label, "4 KB" if size == 4096 else "64 KB", c,
                "%.0f" % mine if mine else "-",
                "%.0f" % peer if peer else "(no figure)",
                "%.2fx" % ratio if ratio else "-",
                ">= %.1fx" % t if t else "-", verdict))
print()
print("Our per-operation costs (tools:bench; whole machine):")
print("| phase | in flight | ops/s | p50 ms | p99 ms | CPU us/op | RPC calls/op | TCP segs/op | echo ceiling/s | of ceiling |")
print("|---|---|---|---|---|---|---|---|---|---|")
for c in clients:
    for p in ours[c].values():
        print("| %s | %d | %.0f | %.2f | %.2f | %.0f | %.2f | %.1f | %.0f | %.3f |" % (
            p["phase"], c, p["ops_per_s"], p["p50_ms"], p["p99_ms"],
            p["cpu_us_per_op"], p["rpc_calls_per_op"], p["tcp_segs_per_op"],
            p["echo_ceiling_per_s"], p["ratio_of_ceiling"]))
EOF
