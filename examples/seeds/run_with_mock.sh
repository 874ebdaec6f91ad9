#!/usr/bin/env bash
# Runs one seed example online against tools/dspy-mock-lm (the real dspy::LM over loopback HTTP, as with
# OPENAI_API_KEY set) and checks the structure of what it prints: the mock's answers are not DummyLM's, so the
# check is the expected file's shape (the same Predictions with the same fields, every value non-empty), or the
# exact text for seeds that make no LM call. It also checks through /stats that the LM calls reached the mock.
# Usage: run_with_mock.sh MOCK_LM EXE EXPECTED_FILE
set -u
mock=$1 exe=$2 expected=$3
work=$(mktemp -d)
mock_pid=
cleanup() {
  [[ -n $mock_pid ]] && kill "$mock_pid" 2>/dev/null && wait "$mock_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- stdout ---"; cat "$work/out"; echo "--- stderr ---"; cat "$work/err"; exit 1; }
: >"$work/out"; : >"$work/err"

"$mock" --port 0 --exit-after-s 60 >"$work/mock.out" 2>"$work/mock.err" &
mock_pid=$!
port=
for _ in $(seq 1 200); do
  line=$(head -n1 "$work/mock.out" 2>/dev/null)
  if [[ $line =~ ^listening\ on\ 127\.0\.0\.1:([0-9]+) ]]; then port=${BASH_REMATCH[1]}; break; fi
  kill -0 "$mock_pid" 2>/dev/null || break
  sleep 0.05
done
[[ -n $port ]] || fail "dspy-mock-lm did not start: $(cat "$work/mock.out" "$work/mock.err")"

# A fresh disk cache: answers cached by an earlier run would never reach the mock (and ~/.dspy_cache stays untouched).
DSPY_CACHEDIR="$work/cache" OPENAI_API_KEY=sk-mock OPENAI_BASE_URL="http://127.0.0.1:$port/v1" \
  timeout 60 "$exe" >"$work/out" 2>"$work/err"
rc=$?
[[ $rc -eq 0 ]] || fail "$exe exited with $rc"

lm_requests() {
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'GET /stats HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
  local body
  body=$(cat <&3)
  exec 3>&-
  [[ $body =~ \"lm_requests\":([0-9]+) ]] && echo "${BASH_REMATCH[1]}"
}
calls=$(lm_requests)

if ! grep -q '^Prediction(' "$expected"; then
  # No LM call in this seed: the output is the offline one.
  cmp -s "$expected" "$work/out" || fail "output differs from $expected"
  echo "ok: $(basename "$exe") (no LM calls)"
  exit 0
fi
[[ ${calls:-0} -gt 0 ]] || fail "no LM request reached dspy-mock-lm (lm_requests=${calls:-?})"
shape() { sed -n -e 's/^\(Prediction\)($/\1/p' -e 's/^    \([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p' "$1"; }
[[ "$(shape "$expected")" == "$(shape "$work/out")" ]] ||
  fail "the Predictions' fields differ from $expected: want [$(shape "$expected" | tr '\n' ' ')] got [$(shape "$work/out" | tr '\n' ' ')]"
if grep -Eq "^    [A-Za-z_]+=(''|\"\"),?$" "$work/out"; then fail "a field is empty"; fi
echo "ok: $(basename "$exe") ($calls LM requests to the mock)"
cat "$work/out"
