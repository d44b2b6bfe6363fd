#!/usr/bin/env bash
# Load on loopback with wrk: builds zhengxiang, runs `serve` on the embedded
# default (in-memory record, in-process stream, no fleet) on free loopback
# ports, creates orders through the REST API to get tracking tokens, and
# measures
#
#   tracking  GET /v1/tracking/{token}, public, cycling through the tokens;
#             goal 5,000 requests/s with p99 under 10 ms
#   creation  POST /v1/orders with a platform key, an Idempotency-Key per
#             request; goal 1,000 requests/s with p99 under 50 ms
#
# each twice with wrk: paced to the goal's rate (each connection waits a
# think time after each response: wrk has no fixed rate, and Debian has no
# wrk2), which gives the latency at that load; then at saturation (a few
# connections as fast as they go), which gives the most the server takes
# while wrk shares its two cores. Tracking is also run with hey, Debian's
# rate-limited load tool, at 5,050/s on one token. Reports requests/s, p50,
# p99 and the responses that were not 200. Installs wrk and hey (Debian's
# packages) when missing. Exits non-zero when a response was not 200 or a
# socket failed; the goals are reported, not enforced.
#
#   bench/api/load.sh
#
# Settings (environment): LOAD_DURATION (30s, each run), LOAD_THREADS (2),
# LOAD_TRACK_CONNS (32) and LOAD_CREATE_CONNS (16) at saturation,
# LOAD_PACED_TRACK_CONNS (64) and LOAD_PACED_CREATE_CONNS (16) paced,
# LOAD_ORDERS (1000, orders created for their tracking tokens), LOAD_STORES
# (300), OUT (out/load).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION="${LOAD_DURATION:-30s}"
THREADS="${LOAD_THREADS:-2}"
TRACK_CONNS="${LOAD_TRACK_CONNS:-32}"
CREATE_CONNS="${LOAD_CREATE_CONNS:-16}"
PACED_TRACK_CONNS="${LOAD_PACED_TRACK_CONNS:-64}"
PACED_CREATE_CONNS="${LOAD_PACED_CREATE_CONNS:-16}"
ORDERS="${LOAD_ORDERS:-1000}"
OUT="${OUT:-$ZX_ROOT/out/load}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"

for tool in wrk hey; do
	if ! zx_have $tool; then
		api_log "installing $tool (Debian's package)"
		zx_apt_install $tool
	fi
done
api_build
KEY="$(api_key platform --platform meituan --name "wrk load")"
api_start --stores "${LOAD_STORES:-300}"
mkdir -p "$OUT"

# A drop-off by Erqi Square and the stores whose 1-hour circle covers it.
LAT=34.7466 LNG=113.6253
STORES="$(api_call "$KEY" POST /v1/quotes '{"dropoff":{"lat":'$LAT',"lng":'$LNG'},"max_stores":20}' |
	grep -oE '"store_id":"[^"]+"' | cut -d'"' -f4 | paste -sd, -)"
[[ -n $STORES ]] || api_die "no store serves $LAT,$LNG"
api_log "stores covering $LAT,$LNG: $STORES"

# The orders whose tracking tokens the reads cycle through, created in one
# curl run (one connection) from a config of ORDERS requests.
RUN="load-$(date +%s)-$$"
TOKENS="$OUT/tokens.txt"
IFS=, read -ra store_list <<<"$STORES"
{
	for ((i = 0; i < ORDERS; i++)); do
		s="${store_list[i % ${#store_list[@]}]}"
		printf 'url = "%s/v1/orders"\n' "$API_HTTP"
		printf 'header = "Authorization: Bearer %s"\nheader = "Content-Type: application/json"\n' "$KEY"
		printf 'header = "Idempotency-Key: %s-seed-%d"\n' "$RUN" "$i"
		printf 'data = "{\\"store_id\\":\\"%s\\",\\"dropoff\\":{\\"lat\\":%s,\\"lng\\":%s},\\"items\\":[{\\"sku\\":\\"rice-5kg\\",\\"name\\":\\"rice\\",\\"qty\\":1,\\"price_cents\\":3590}]}"\n' "$s" "$LAT" "$LNG"
		printf 'write-out = "\\n"\n'
		((i + 1 < ORDERS)) && printf 'next\n'
	done
} >"$API_WORK/seed.curl"
started=$(zx_now)
curl -sS -K "$API_WORK/seed.curl" | grep -oE '"tracking_token":"[^"]+"' | cut -d'"' -f4 >"$TOKENS"
got=$(wc -l <"$TOKENS")
((got == ORDERS)) || api_die "created $got orders of $ORDERS"
api_log "created $ORDERS orders in $(($(zx_now) - started)) s; tokens in $TOKENS"

# ms VALUE: a wrk duration (850.00us, 1.23ms, 2.00s, 1.00m) in milliseconds.
ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
		f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : -1
		if (f < 0) { print "?"; exit }
		printf "%.2f", n * f
	}'
}

# report NAME GOAL_RPS GOAL_P99_MS LOG: one line of the summary from the
# output of wrk (or hey).
report() {
	local name="$1" goal_rps="$2" goal_p99="$3" log="$4"
	local rps p50 p99 total non200 errors
	if grep -q '^Summary:' "$log"; then # hey
		rps="$(awk '/Requests\/sec:/ {printf "%.0f", $2}' "$log")"
		p50="$(awk '$1 == "50%" {printf "%.2f", $3 * 1000}' "$log")"
		p99="$(awk '$1 == "99%" {printf "%.2f", $3 * 1000}' "$log")"
		total="$(awk '/^ +\[[0-9]+\]/ {n += $2} END {print n + 0}' "$log")"
		non200="$(awk '/^ +\[[0-9]+\]/ && $1 != "[200]" {n += $2} END {print n + 0}' "$log")"
		errors="$(awk '/^Error distribution:/ {on = 1; next} on && /\[[0-9]+\]/ {n += substr($1, 2) + 0} END {if (n) print n}' "$log")"
	else
		rps="$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$log")"
		p50="$(ms "$(awk '$1 == "50%" {print $2}' "$log")")"
		p99="$(ms "$(awk '$1 == "99%" {print $2}' "$log")")"
		total="$(awk '/requests in/ {print $1}' "$log")"
		non200="$(awk '/^status / && $2 != "200:" {n += $3} END {print n + 0}' "$log")"
		errors="$(awk '/Socket errors:/ {sub(/.*Socket errors: /, ""); print}' "$log")"
	fi
	printf '  %-30s %6s req/s  p50 %6s ms  p99 %7s ms  %8s requests  not 200: %s%s  (goal %s/s, p99 < %s ms: rate %s, p99 %s)\n' \
		"$name" "$rps" "$p50" "$p99" "$total" "$non200" "${errors:+, errors: $errors}" "$goal_rps" "$goal_p99" \
		"$( ((rps >= goal_rps)) && echo met || echo MISSED)" \
		"$(awk -v a="$p99" -v b="$goal_p99" 'BEGIN {print (a + 0 < b + 0) ? "met" : "MISSED"}')"
	((non200 == 0)) && [[ -z $errors ]]
}

# pace CONNS RATE: the think time, in whole milliseconds (wrk's unit), that
# keeps CONNS connections a little above RATE requests/s: aimed at 3 % more,
# a millisecond left for the request itself.
pace() { echo $(($1 * 1000 * 100 / ($2 * 103) - 1)); }

# run NAME LOG COMMAND...: run a load, its output in LOG and on stderr.
run() {
	local name="$1" log="$2"
	shift 2
	api_log "$name: ${*/#$HERE\//}"
	"$@" 2>&1 | tee "$log" >&2
}

TRACK_PACE=$(pace "$PACED_TRACK_CONNS" 5000)
CREATE_PACE=$(pace "$PACED_CREATE_CONNS" 1000)
TOKEN="$(head -n1 "$TOKENS")"
run "tracking, wrk paced to ~5,000/s" "$OUT/track-paced.txt" env WRK_PACE_MS="$TRACK_PACE" \
	wrk -t"$THREADS" -c"$PACED_TRACK_CONNS" -d"$DURATION" --latency -s "$HERE/track.lua" "$API_HTTP" -- "$TOKENS"
run "tracking, hey at 5,050/s" "$OUT/track-hey.txt" \
	hey -z "$DURATION" -c 50 -q 101 "$API_HTTP/v1/tracking/$TOKEN"
run "tracking, wrk at saturation" "$OUT/track.txt" \
	wrk -t"$THREADS" -c"$TRACK_CONNS" -d"$DURATION" --latency -s "$HERE/track.lua" "$API_HTTP" -- "$TOKENS"
run "creation, wrk paced to ~1,000/s" "$OUT/create-paced.txt" env WRK_PACE_MS="$CREATE_PACE" \
	wrk -t"$THREADS" -c"$PACED_CREATE_CONNS" -d"$DURATION" --latency -s "$HERE/create.lua" "$API_HTTP" -- "$KEY" "$RUN-p" "$LAT" "$LNG" "$STORES"
run "creation, wrk at saturation" "$OUT/create.txt" \
	wrk -t"$THREADS" -c"$CREATE_CONNS" -d"$DURATION" --latency -s "$HERE/create.lua" "$API_HTTP" -- "$KEY" "$RUN-s" "$LAT" "$LNG" "$STORES"

printf '\nLoad on loopback, %s cores, serve on the embedded default, %s each (outputs in %s):\n' "$(nproc)" "$DURATION" "$OUT"
ok=0
report "tracking, wrk -c$PACED_TRACK_CONNS paced ${TRACK_PACE} ms" 5000 10 "$OUT/track-paced.txt" || ok=1
report "tracking, hey -c50 -q101" 5000 10 "$OUT/track-hey.txt" || ok=1
report "tracking, wrk -c$TRACK_CONNS saturated" 5000 10 "$OUT/track.txt" || ok=1
report "creation, wrk -c$PACED_CREATE_CONNS paced ${CREATE_PACE} ms" 1000 50 "$OUT/create-paced.txt" || ok=1
report "creation, wrk -c$CREATE_CONNS saturated" 1000 50 "$OUT/create.txt" || ok=1
exit $ok
