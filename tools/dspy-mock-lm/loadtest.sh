#!/bin/bash
# Load-tests dspy-mock-lm with wrk and reports req/s plus the server's CPU time per request.
# usage: loadtest.sh BINARY "SERVER ARGS" "WRK ARGS" [stream]
#   e.g. loadtest.sh build/default/tools/dspy-mock-lm/dspy-mock-lm "--threads 1 --latency-ms 50" "-t2 -c256 -d10s"
set -euo pipefail
bin=$1; server_args=$2; wrk_args=$3; stream=${4:-}
command -v wrk >/dev/null || { echo "loadtest.sh: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
extra=""; [[ -n "$stream" ]] && extra=',"stream":true,"stream_options":{"include_usage":true}'
body='{"model":"openai/mock","messages":[{"role":"system","content":"Your input fields are:\n1. `question` (str):\nYour output fields are:\n1. `answer` (str):\nAll interactions will be structured in the following way, with the appropriate values filled in.\n\n[[ ## question ## ]]\n{question}\n\n[[ ## answer ## ]]\n{answer}\n\n[[ ## completed ## ]]\nIn adhering to this structure, your objective is: \n        Given the fields `question`, produce the fields `answer`."},{"role":"user","content":"[[ ## question ## ]]\nWhat is the capital of France?\n\nRespond with the corresponding output fields, starting with the field `[[ ## answer ## ]]`, and then ending with the marker for `[[ ## completed ## ]]`."}]'"$extra"'}'
body=${body//\\/\\\\}; body=${body//\"/\\\"}
printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = "%s"\n' "$body" > "$dir/post.lua"
# shellcheck disable=SC2086
"$bin" --port 0 --exit-after-s 600 $server_args > "$dir/port" &
pid=$!
for _ in $(seq 50); do grep -q listening "$dir/port" && break; sleep 0.1; done
port=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$dir/port")
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
t0=$(ticks)
# shellcheck disable=SC2086
wrk $wrk_args -s "$dir/post.lua" "http://127.0.0.1:$port/v1/chat/completions"
t1=$(ticks)
stats=$(exec 3<>"/dev/tcp/127.0.0.1/$port"; printf 'GET /stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3; tail -1 <&3)
kill "$pid"; wait "$pid" || true
requests=$(sed -n 's/.*"lm_requests":\([0-9]*\).*/\1/p' <<<"$stats")
hz=$(getconf CLK_TCK)
echo "server CPU: $(( (t1 - t0) * 1000 / hz )) ms for $requests requests = $(( (t1 - t0) * 1000000 / hz / (requests > 0 ? requests : 1) )) us/request"
echo "stats: $stats"
