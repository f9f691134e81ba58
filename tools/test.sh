#!/usr/bin/env bash
# The README's test command: installs what is missing, then runs the whole
# suite twice, as built and under AddressSanitizer + UBSan (--config=asan),
# then each fuzz target briefly, and ends with one line "N passed, M failed"
# counting test targets of both runs and the fuzz targets. Exit code 0 only
# if everything passed.
#   tools/test.sh            both runs
#   tools/test.sh --quick    the plain run only
set -uo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh || { echo "0 passed, 1 failed"; exit 1; }

configs=("")
[ "${1:-}" = "--quick" ] || configs+=("--config=asan")

passed=0
failed=0
for cfg in "${configs[@]}"; do
  echo "== bazel test ${cfg:-(plain)} //..."
  log=$(mktemp)
  # Build everything first, so the multi-process tests never share the two
  # cores with the compiler: their timeouts are for the system, not for gcc.
  # shellcheck disable=SC2086
  bazel build $cfg //... 2>&1 | grep -E 'ERROR|error:' || true
  # shellcheck disable=SC2086
  bazel test $cfg --test_output=errors //... 2>&1 | tee "$log" \
    | grep -E '^//|FAIL|ERROR|error:|passed|failed' || true
  p=$(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' "$log")
  f=$(grep -cE '^//[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|FLAKY|NO STATUS|INCOMPLETE)' "$log")
  # A build failure leaves no per-target lines: count it as a failure.
  if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p))
  failed=$((failed + f))
  rm -f "$log"
done
# The fuzz targets (tools/fuzz.sh): each a few seconds on its corpus, once;
# each is a test, failed by a crash (or by failing to build).
echo "== tools/fuzz.sh smoke"
fz=$(tools/fuzz.sh smoke 2>&1)
grep -E '^fuzz' <<<"$fz"
p=$(grep -cE '^fuzz:[a-z_]+ PASSED' <<<"$fz")
f=$(grep -cE '^fuzz:[a-z_]+ FAILED' <<<"$fz")
if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; fi
passed=$((passed + p))
failed=$((failed + f))
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
