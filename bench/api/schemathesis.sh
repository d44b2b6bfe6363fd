#!/usr/bin/env bash
# Checks the public API against its OpenAPI document with schemathesis, an
# independent tool: builds zhengxiang, runs `serve` on the embedded default
# with a simulated fleet on free loopback ports, and runs schemathesis against
# /openapi.json once per role's key (platform, merchant, rider, operator,
# bureau) and once with no key. Every response must be no 5xx
# (not_a_server_error) and match the document (response_schema_conformance).
# Exits non-zero when a run finds a failure; the runs' output and JUnit
# reports are in $OUT.
#
#   bench/api/schemathesis.sh
#
# Settings (environment): ST_MAX_EXAMPLES (30, test cases per operation and
# phase), ST_SEED (1), ST_ROLES ("platform merchant rider operator bureau
# none"), ST_CHECKS (not_a_server_error,response_schema_conformance),
# OUT (out/schemathesis).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MAX_EXAMPLES="${ST_MAX_EXAMPLES:-30}"
SEED="${ST_SEED:-1}"
ROLES="${ST_ROLES:-platform merchant rider operator bureau none}"
CHECKS="${ST_CHECKS:-not_a_server_error,response_schema_conformance}"
OUT="${OUT:-$ZX_ROOT/out/schemathesis}"
ST="$ZX_ROOT/deploy/schemathesis.sh"

"$ST" install >/dev/null
api_build
declare -A KEY=(
	[platform]="$(api_key platform --platform meituan)"
	[merchant]="$(api_key merchant --store S0001)"
	[rider]="$(api_key rider --rider F0001)"
	[operator]="$(api_key operator)"
	[bureau]="$(api_key bureau)"
)
api_start --fleet 50 --stores 50 --time-scale 30
# One real order, so that the platform's and the operator's lists have
# something to show.
drop='{"lat":34.7466,"lng":113.6253}' # by Erqi Square
store="$(api_call "${KEY[platform]}" POST /v1/quotes '{"dropoff":'"$drop"',"max_stores":1}' |
	sed -nE 's/.*"store_id":"([^"]+)".*/\1/p')"
[[ -n $store ]] || api_die "no store serves $drop"
api_call "${KEY[platform]}" POST /v1/orders '{"store_id":"'"$store"'","dropoff":'"$drop"',
	"items":[{"sku":"rice-5kg","name":"rice 5 kg","qty":1,"price_cents":3590}]}' 'Idempotency-Key: st-seed-1' >/dev/null

rm -rf "$OUT"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd -P)"
failed=()
summary=()
for role in $ROLES; do
	args=(run "$API_HTTP/openapi.json" --checks "$CHECKS" --max-examples "$MAX_EXAMPLES" --seed "$SEED"
		--request-timeout 5 --generation-database none --no-color --report junit --report-junit-path "$OUT/$role.xml")
	if [[ $role != none ]]; then
		[[ -n ${KEY[$role]:-} ]] || api_die "no key for role $role"
		args+=(--header "Authorization: Bearer ${KEY[$role]}")
	fi
	api_log "schemathesis as $role (log $OUT/$role.log)"
	started=$(zx_now)
	rc=0
	# From $OUT, where schemathesis keeps its cache (.schemathesis/), so that
	# `st replay ID` works there.
	(cd "$OUT" && "$ST" "${args[@]}") >"$OUT/$role.log" 2>&1 || rc=$?
	last="$(grep -E '^=+ .* =+$' "$OUT/$role.log" | tail -n1 | sed -E 's/^=+ (.*) =+$/\1/')"
	cases="$(grep -E '^ +[0-9]+ generated' "$OUT/$role.log" | tail -n1 | sed -E 's/^ +//')"
	summary+=("$(printf '%-9s %-4s %-60s %s (%d s)' "$role" "$([[ $rc == 0 ]] && echo pass || echo FAIL)" "$last" "$cases" $(($(zx_now) - started)))")
	((rc == 0)) || failed+=("$role")
	zx_running "$API_PID" || {
		zx_tail "$API_LOG" 40
		api_die "serve died during the run as $role"
	}
done

printf '\nschemathesis %s against %s (checks %s, %s examples, seed %s):\n' \
	"$("$ST" --version | awk '{print $NF}')" "$API_HTTP/openapi.json" "$CHECKS" "$MAX_EXAMPLES" "$SEED"
printf '  %s\n' "${summary[@]}"
if ((${#failed[@]} > 0)); then
	# Each failure once: operation, check, answer, and the first curl line
	# that reproduces it (the key filtered out), with the roles it failed as.
	printf '\nfailures (operation | check | answer | roles | reproduction):\n'
	for role in "${failed[@]}"; do
		awk -v role="$role" '
			/^=+ FAILURES =+$/ { on = 1; next }
			/^=+ [A-Z]+ =+$/ { on = 0 }
			!on { next }
			/^_+ [A-Z]+ .* _+$/ { op = $0; gsub(/^_+ | _+$/, "", op); next }
			/^- / { check = substr($0, 3); next }
			/^\[[0-9]+\]/ { answer = $0; sub(/:$/, "", answer); next }
			/^ +curl / { c = $0; sub(/^ +/, "", c); print op " | " check " | " answer "\t" role "\t" c }
		' "$OUT/$role.log"
	done | sort -t$'\t' -k1,1 -s | awk -F'\t' '
		$1 != last { if (last != "") print "  " last " | " roles " | " curl; last = $1; roles = $2; curl = $3; next }
		index(" " roles " ", " " $2 " ") == 0 { roles = roles " " $2 }
		END { if (last != "") print "  " last " | " roles " | " curl }'
	printf '\nfailed as: %s; the whole output of each run is in %s/<role>.log\n' "${failed[*]}" "$OUT"
	exit 1
fi
