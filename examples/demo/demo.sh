#!/usr/bin/env bash
# The quick-start demo: `dspy batch` of a ChainOfThought program over 1,000 questions with 64 in flight.
#
# Offline (default) it starts dspy-mock-lm with a realistic latency and points the program at it. With DSPY_LM
# (e.g. openai/gpt-4o-mini) and the provider's key (OPENAI_API_KEY, ...) set, the same command uses that model
# (and only DEMO_QUESTIONS questions, 50 unless told otherwise, to keep the bill small).
#
#   examples/demo/demo.sh BUILD_DIR      env: DEMO_QUESTIONS=N  DEMO_LATENCY_MS=150  DEMO_CONCURRENCY=64
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "${1:-$here/../../build/default}" && pwd)"
dspy="$build/tools/dspy/dspy"
mock="$build/tools/dspy-mock-lm/dspy-mock-lm"
work="$build/demo"
latency="${DEMO_LATENCY_MS:-150}"
concurrency="${DEMO_CONCURRENCY:-64}"
real="${DSPY_LM:-}"
if [ -n "$real" ]; then n="${DEMO_QUESTIONS:-50}"; else n="${DEMO_QUESTIONS:-1000}"; fi
sample="${DEMO_SAMPLE:-10}"
[ "$sample" -gt "$n" ] && sample="$n"

rm -rf "$work" && mkdir -p "$work"
head -n "$n" "$here/questions.jsonl" > "$work/questions.jsonl"
head -n "$sample" "$here/questions.jsonl" > "$work/sample.jsonl"
export DSPY_CACHEDIR="$work/cache"   # a fresh cache, so the first run really calls the model

mock_pid=""
cleanup() { if [ -n "$mock_pid" ]; then kill "$mock_pid" 2>/dev/null || true; wait "$mock_pid" 2>/dev/null || true; fi; }
trap cleanup EXIT INT TERM

args=()
if [ -z "$real" ]; then
  # The mock answers in DSPy's format after $latency ms; it stops by itself after 5 minutes whatever happens.
  coproc MOCK { exec "$mock" --port 0 --latency-ms "$latency" --exit-after-s 300; }
  mock_pid=$MOCK_PID
  read -r -t 20 line <&"${MOCK[0]}" || { echo "demo: dspy-mock-lm did not start" >&2; exit 1; }
  port="${line##*:}"
  args=(--lm openai/mock --api-base "http://127.0.0.1:$port/v1")
  unset OPENAI_API_KEY   # the local mock needs no key; never send a real one to it
  echo "== model: dspy-mock-lm on 127.0.0.1:$port, ${latency} ms per call (set DSPY_LM and a provider key for a real model)"
else
  echo "== model: $real"
fi
echo "== program: $here/program.json (ChainOfThought, question -> reasoning, answer)"
echo

# Python DSPy's usual loop calls the model one question at a time; time a few calls that way (no cache).
"$dspy" batch "$here/program.json" "$work/sample.jsonl" -o "$work/sample.out.jsonl" -c 1 --no-cache \
  --progress off --summary-json "$work/sample.json" "${args[@]}" > /dev/null
seq_rate=$(sed -n 's/.*"rows_per_s": \([0-9.e+-]*\).*/\1/p' "$work/sample.json")

echo "== run 1: $n questions, $concurrency in flight"
"$dspy" batch "$here/program.json" "$work/questions.jsonl" -o "$work/answers.jsonl" -c "$concurrency" \
  --summary-json "$work/run1.json" --progress-interval 1 ${real:+--metric exact_match} "${args[@]}"
rate=$(sed -n 's/.*"rows_per_s": \([0-9.e+-]*\).*/\1/p' "$work/run1.json")
awk -v r="$rate" -v s="$seq_rate" -v n="$n" -v k="$sample" 'BEGIN {
  printf "\n   one at a time (measured on %d questions, extrapolated): %.1f questions/s, %.1f s for %d\n", k, s, n / s, n;
  printf "   %d in flight: %.1f questions/s -> %.1fx faster\n\n", '"$concurrency"', r, r / s }'

echo "== run 2: the same $n questions again (every answer comes from the cache)"
"$dspy" batch "$here/program.json" "$work/questions.jsonl" -o "$work/answers2.jsonl" -c "$concurrency" \
  --summary-json "$work/run2.json" --progress-interval 1 "${args[@]}"
echo
echo "== first answers ($work/answers.jsonl):"
head -n 2 "$work/answers.jsonl"
