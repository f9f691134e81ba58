#!/usr/bin/env bash
# libFuzzer targets for every decoder of bytes from the network or the disk
# (docs/security.md, "Fuzzing"; the targets are fuzz/*_fuzz.c, their seed
# corpora fuzz/corpus/TARGET/).
#   tools/fuzz.sh TARGET SECONDS [RUNS]
#                                  runs one target (for SECONDS, or until
#                                  RUNS executions); prints its executions
#                                  and crashes; exit 1 on a crash
#   tools/fuzz.sh all SECONDS      runs each target in turn
#   tools/fuzz.sh smoke            each target briefly (the test command's
#                                  hook): one "fuzz:TARGET PASSED|FAILED" line
#                                  per target
#   tools/fuzz.sh build            builds every target, runs none
#   tools/fuzz.sh seeds            (re)makes the seeds the code must make
#                                  (fuzz/seeds.c) in fuzz/corpus/
#   tools/fuzz.sh list             the target names
#
# Why not Bazel: the workspace's toolchain is gcc, and libFuzzer plus its
# coverage instrumentation (-fsanitize=fuzzer) exist only in clang. So this
# script compiles the very sources the services link (and protoc-c's output
# of proto/*.proto) with Debian's clang-14 under libFuzzer, ASan and UBSan,
# into a build directory outside the tree ($HS_FUZZ_OUT, by default one
# under $TMPDIR per checkout); Bazel never sees the binaries.
# New inputs a run finds go to that build directory, not to the tree: add a
# useful one to fuzz/corpus/ by hand (a crash's input always).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${HS_FUZZ_OUT:-${TMPDIR:-/tmp}/hs-fuzz-$(id -u)-$(printf %s "$ROOT" | md5sum | cut -c1-8)}
CC=${HS_FUZZ_CC:-clang-14}
CFLAGS=(-std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror
  -Wno-unused-parameter -fno-omit-frame-pointer
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
  -Iproto -Iruntime -Iclient -Istore/engine -I"$OUT/gen")
LIBS=(-lnng -lprotobuf-c -lhiredis -lcrypto -lmicrohttpd -lpthread -lm)

PROTOS=(common rpc echo directory store replicator events)
# The fixed identities (fuzz.h) and what rt_ident_load needs.
IDENT_SRCS=(fuzz/fuzz_ident.c runtime/ident.c runtime/ident_make.c
  runtime/key.c runtime/log.c runtime/clock.c)
RPC_SRCS=(proto/rpc_server.c proto/rpc_admit.c proto/rpc_limits.c
  proto/rpc_wire.c proto/rpc_auth.c proto/rpc_status.c runtime/tls.c
  proto/rpc_server_metrics.c runtime/metrics.c runtime/sbuf.c runtime/http.c
  runtime/hostport.c runtime/listen.c
  "${IDENT_SRCS[@]}")
ENGINE_SRCS=$(ls store/engine/*.c | grep -v -e '_test\.c$' -e testutil)
# libhs as client/BUILD's //client:libhs links it: its sources, //proto:rpc
# (every rpc_*.c) and the runtime.
LIBHS_SRCS="$(ls client/{cache,cluster_file,download,grants,hs,hs_backup,\
hs_calls,hs_cred,hs_events,hs_id,hs_rebuild,hsi_util,locations,upload}.c) \
$(ls proto/rpc_*.c runtime/*.c | grep -v '_test\.c$')"
CLIENT_SRCS=(client/cluster_file.c client/hsi_util.c runtime/cfg.c
  runtime/log.c runtime/clock.c proto/rpc_status.c runtime/tls.c)

# target -> the sources it links besides fuzz/TARGET_fuzz.c. The volume
# target's scan window is 16 KiB, not 1 MiB: inputs are at most 64 KiB, and
# with the real window they would never cross one (and each open would map
# and clear a megabyte, a third of the target's time).
sources() {
  case "$1" in
  rpc_dispatch) echo "${RPC_SRCS[*]} $OUT/gen/pb.list" ;;
  proto_messages) echo "$OUT/gen/all_messages.c $OUT/gen/pb.list" ;;
  volume) echo "$ENGINE_SRCS runtime/clock.c" ;;
  cluster_file) echo "${CLIENT_SRCS[*]}" ;;
  photo_id) echo "runtime/photo_id.c client/hs_id.c client/hsi_util.c \
runtime/clock.c proto/rpc_status.c $OUT/gen/pb.list" ;;
  cfg) echo "runtime/cfg.c runtime/log.c" ;;
  ident) echo "${IDENT_SRCS[*]}" ;;
  backup) echo "fuzz/fuzz_ident.c $LIBHS_SRCS $OUT/gen/pb.list" ;;
  events) echo "runtime/pubsub.c runtime/feed_seal.c runtime/feed_open.c \
runtime/feed_frame.c runtime/tls.c runtime/listen.c ${IDENT_SRCS[*]} \
$OUT/gen/pb.list" ;;
  *) return 1 ;;
  esac
}
TARGETS=(rpc_dispatch proto_messages events volume cluster_file photo_id cfg
  backup ident)

need_tools() {
  command -v "$CC" >/dev/null && command -v protoc-c >/dev/null &&
    [ -n "$(find /usr/lib/llvm-14 -name 'libclang_rt.fuzzer-x86_64.a' 2>/dev/null)" ] &&
    return 0
  echo "fuzz: installing clang-14 and its libFuzzer runtime" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get install -y -qq --no-install-recommends clang-14 \
    libclang-rt-14-dev protobuf-c-compiler >/dev/null
}

# protoc-c's C for every .proto, and the list of every message descriptor
# (made as //proto:all_messages_c makes it for the round-trip test).
gen() {
  mkdir -p "$OUT/gen"
  local stamp="$OUT/gen/pb.list" p
  for p in "${PROTOS[@]}"; do
    [ -f "$stamp" ] && [ "$stamp" -nt "proto/$p.proto" ] && continue
    rm -f "$stamp"
  done
  [ -f "$stamp" ] && return 0
  protoc-c --proto_path=proto --c_out="$OUT/gen" \
    $(for p in "${PROTOS[@]}"; do echo "proto/$p.proto"; done)
  {
    echo '#include <protobuf-c/protobuf-c.h>'
    for p in "${PROTOS[@]}"; do echo "#include \"$p.pb-c.h\""; done
    echo 'const ProtobufCMessageDescriptor *const all_messages[] = {'
    for p in "${PROTOS[@]}"; do cat "$OUT/gen/$p.pb-c.h"; done |
      sed -n 's/^extern const ProtobufCMessageDescriptor \(.*\);$/  \&\1,/p'
    echo '  0 };'
  } >"$OUT/gen/all_messages.c"
  for p in "${PROTOS[@]}"; do echo "$OUT/gen/$p.pb-c.c"; done >"$stamp"
}

# Builds one target when any of its sources or headers is newer.
build() {
  local t=$1 bin="$OUT/$1" srcs=() s
  for s in "fuzz/${t}_fuzz.c" $(sources "$t"); do
    if [[ $s == *.list ]]; then mapfile -t -O "${#srcs[@]}" srcs <"$s"
    else srcs+=("$s"); fi
  done
  if [ -x "$bin" ] && [ -z "$(find "${srcs[@]}" proto runtime client \
    store/engine fuzz -name '*.[ch]' -newer "$bin" 2>/dev/null | head -1)" ]; then
    return 0
  fi
  echo "fuzz: building $t" >&2
  local extra=()
  [ "$t" = volume ] && extra=(-DVOL_SCAN_WINDOW=16384)
  "$CC" "${CFLAGS[@]}" "${extra[@]}" -o "$bin" "${srcs[@]}" "${LIBS[@]}"
}

# Builds target $1 and runs it for a second: "fuzz:$1 PASSED" or FAILED
# last (a failed build shows its compiler's words first).
smoke_one() {
  local t=$1 log="$OUT/build-$1.log"
  if ! build "$t" >"$log" 2>&1; then
    tail -20 "$log" | sed 's/^/fuzz:   /'
    echo "fuzz:$t FAILED"
    return
  fi
  if run "$t" 1; then echo "fuzz:$t PASSED"; else echo "fuzz:$t FAILED"; fi
}

# Runs target $1 for $2 seconds (or $3 executions) on a copy of its corpus;
# prints a summary line; 0, or 1 when libFuzzer found a crash, leak or
# timeout.
run() {
  local t=$1 secs=$2 runs=${3:--1} work="$OUT/run-$1${FUZZ_RUN_TAG:-}" log rc=0
  local start=$SECONDS
  rm -rf "$work/crashes"
  mkdir -p "$work/corpus" "$work/crashes"
  cp -n "fuzz/corpus/$t/"* "$work/corpus/" 2>/dev/null || true
  log="$work/log"
  # -close_fd_mask=1: the targets' stdout (--help's usage) is noise.
  # -rss_limit_mb: the engine's volume load is allowed 2 GiB (ASan's
  # shadow counts too); -timeout: one input never takes 10 s honestly.
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
    UBSAN_OPTIONS=print_stacktrace=1 \
    "$OUT/$t" -max_total_time="$secs" -runs="$runs" -timeout=10 -rss_limit_mb=2560 \
    -max_len=65536 -close_fd_mask=1 -print_final_stats=1 -artifact_prefix="$work/crashes/" \
    "$work/corpus" "fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  local execs crashes
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  crashes=$(find "$work/crashes" -type f | wc -l)
  echo "fuzz: $t: ${execs:-0} executions in $((SECONDS - start)) s, $crashes crash(es), exit $rc"
  if [ "$rc" -ne 0 ]; then
    grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -20 |
      sed 's/^/fuzz:   /'
    echo "fuzz:   whole log: $log"
    return 1
  fi
}

# fuzz/seeds.c: frames, messages and volumes, made by the tree's own code.
seeds() {
  local s srcs=(fuzz/seeds.c proto/pb_fill.c "$OUT/gen/all_messages.c"
    "${RPC_SRCS[@]}" runtime/feed_seal.c runtime/feed_frame.c $ENGINE_SRCS)
  mapfile -t -O "${#srcs[@]}" srcs <"$OUT/gen/pb.list"
  "$CC" "${CFLAGS[@]/-fsanitize=fuzzer,/-fsanitize=}" -o "$OUT/seeds" \
    "${srcs[@]}" "${LIBS[@]}"
  for s in rpc_dispatch proto_messages volume backup events ident; do
    mkdir -p "fuzz/corpus/$s"
  done
  "$OUT/seeds" fuzz/corpus
}

case "${1:-}" in
seeds) need_tools && gen && seeds ;;
list) printf '%s\n' "${TARGETS[@]}" ;;
build)
  need_tools && gen
  for t in "${TARGETS[@]}"; do build "$t"; done
  ;;
smoke)
  # The test command's share: about a second a target after the build, in work
  # directories of their own so a long run can go on meanwhile.
  FUZZ_RUN_TAG=-smoke
  need_tools && gen
  # Targets go side by side, one a core (a build is one compiler call, a
  # run one process); what each said is printed in order afterwards.
  for t in "${TARGETS[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]; do wait -n || true; done
    smoke_one "$t" >"$OUT/smoke-$t.out" 2>&1 &
  done
  wait || true
  for t in "${TARGETS[@]}"; do cat "$OUT/smoke-$t.out"; done
  ;;
all)
  need_tools && gen
  bad=0
  for t in "${TARGETS[@]}"; do build "$t" && run "$t" "${2:?seconds}" || bad=1; done
  exit $bad
  ;;
"" | -h | --help)
  sed -n '2,/^set /p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'
  ;;
*)
  sources "$1" >/dev/null || { echo "fuzz: no target '$1' (tools/fuzz.sh list)" >&2; exit 64; }
  need_tools && gen && build "$1" && run "$1" "${2:?seconds}" "${3:-}"
  ;;
esac
