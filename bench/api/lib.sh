# Shared helpers of the bench/api scripts (sourced, not run): build the
# binary, make API keys in a key file, and run `zhengxiang serve` on the
# embedded default (in-memory record, in-process stream) on free loopback
# ports, stopped when the script exits.

source "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)/deploy/lib.sh"

api_log() { printf '[api] %s\n' "$*" >&2; }
api_die() { printf '[api] error: %s\n' "$*" >&2; exit 1; }

# A scratch folder of this run: the binary, the key file, the server's log.
API_WORK="$(mktemp -d "${TMPDIR:-/tmp}/zx-api.XXXXXX")"
API_BIN="$API_WORK/zhengxiang"
API_KEYS="$API_WORK/keys.json"
API_LOG="$API_WORK/serve.log"
API_PID=
API_HTTP=
API_GRPC=

api_cleanup() {
	if [[ -n $API_PID ]]; then
		zx_kill_pid "$API_PID" "zhengxiang serve" 15
		API_PID=
	fi
	if [[ -z ${ZX_API_KEEP:-} ]]; then
		rm -rf "$API_WORK"
	else
		api_log "kept $API_WORK (ZX_API_KEEP)"
	fi
}
trap api_cleanup EXIT

# api_build: build the command into the scratch folder.
api_build() {
	api_log "building zhengxiang"
	(cd "$ZX_ROOT" && go build -o "$API_BIN" ./cmd/zhengxiang)
}

# api_key ROLE [keys create flags...]: make a key in the key file, with a
# rate no test reaches (the default of 50 requests/s per key would answer
# 429s); print it.
api_key() {
	local role="$1"
	shift
	"$API_BIN" keys create --file "$API_KEYS" --role "$role" --rate 1000000 --burst 1000000 "$@" 2>/dev/null
}

# api_start [serve flags...]: start serve on the embedded default with the
# key file, on ports the kernel picks, whatever the environment names; wait
# until it is ready; set API_HTTP (http://127.0.0.1:PORT) and API_GRPC.
api_start() {
	env -u ZX_KAFKA_BROKERS -u ZX_PG_URL "$API_BIN" serve --key-file "$API_KEYS" \
		--http-addr 127.0.0.1:0 --grpc-addr 127.0.0.1:0 "$@" >"$API_LOG" 2>&1 &
	API_PID=$!
	local i line
	for ((i = 0; i < 600; i++)); do
		zx_running "$API_PID" || {
			zx_tail "$API_LOG" 20
			api_die "serve stopped while starting"
		}
		line="$(grep -m1 'msg=serving' "$API_LOG" || true)"
		if [[ -n $line ]]; then
			API_HTTP="$(sed -E 's/.* http=([^ ]+).*/\1/' <<<"$line")"
			API_GRPC="$(sed -E 's/.* grpc=([^ ]+).*/\1/' <<<"$line")"
			if curl -fsS -o /dev/null "$API_HTTP/readyz"; then
				api_log "serve ready: REST $API_HTTP, gRPC $API_GRPC (log $API_LOG)"
				return 0
			fi
		fi
		sleep 0.1
	done
	zx_tail "$API_LOG" 20
	api_die "serve not ready within 60 s"
}

# api_call KEY METHOD PATH [BODY [HEADER...]]: a REST call that must answer
# 200; prints the body.
api_call() {
	local key="$1" method="$2" path="$3" body="${4:-}"
	shift 3
	(($# > 0)) && shift
	local args=(-sS -X "$method" -w '\n%{http_code}' -H 'Content-Type: application/json')
	[[ -n $key ]] && args+=(-H "Authorization: Bearer $key")
	[[ -n $body ]] && args+=(--data "$body")
	local h
	for h in "$@"; do args+=(-H "$h"); done
	local out code
	out="$(curl "${args[@]}" "$API_HTTP$path")"
	code="${out##*$'\n'}"
	out="${out%$'\n'*}"
	[[ $code == 200 ]] || api_die "$method $path: $code $out"
	printf '%s\n' "$out"
}
