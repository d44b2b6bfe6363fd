#!/usr/bin/env bash
# The services the tests and local runs use, on 127.0.0.1 only:
#   Kafka 4 (KRaft, one node)  127.0.0.1:19092   state in .services/kafka/
#   PostgreSQL 15              127.0.0.1:15432   data in /var/tmp/zhengxiang-pg-<hash>/ (.services/pg links to it)
# and Debian's Chromium (with a CJK font) for the console's browser tests (api/console);
# and, only when asked, the baselines of `bench geo --baseline`:
#   redis                      127.0.0.1:16379   in memory
#   postgis                    database zhengxiang_bench in the same PostgreSQL
#
#   deploy/services.sh up [--with redis,postgis]   start what is not running (installing and fetching what is
#                                                 missing), then write .services.env; running it again is harmless
#   deploy/services.sh down                       stop what this checkout started (by pid); data kept
#   deploy/services.sh status
#   deploy/services.sh start|stop|restart kafka|postgres|redis [--hard]
#                                                 restart keeps the data; --hard kills (SIGKILL / immediate) as a crash would
#   deploy/services.sh env                        rewrite .services.env
#   deploy/services.sh clean                      down, then delete the services' data (the fetched Kafka jars stay)
#
# Use the services from a shell or a test run with:  set -a; . ./.services.env; set +a
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ENV_FILE="$ZX_ROOT/.services.env"

svc_script() {
	case "$1" in
	kafka) echo "$ZX_DEPLOY/kafka.sh" ;;
	postgres | pg | postgresql) echo "$ZX_DEPLOY/postgres.sh" ;;
	redis) echo "$ZX_DEPLOY/redis.sh" ;;
	*) zx_die "unknown service '$1' (kafka, postgres, redis)" ;;
	esac
}

write_env() {
	{
		echo "# Written by deploy/services.sh; load with: set -a; . ./.services.env; set +a"
		"$ZX_DEPLOY/kafka.sh" env
		"$ZX_DEPLOY/postgres.sh" env
		"$ZX_DEPLOY/redis.sh" env
		zx_env ZX_SERVICES "$ZX_DEPLOY/services.sh"
	} >"$ENV_FILE.tmp"
	mv -f "$ENV_FILE.tmp" "$ENV_FILE"
}

# ensure_browser installs what the console's browser tests drive: Debian's
# Chromium, and a CJK font so that their screenshots show the Chinese text.
# Nothing to do when both are there.
ensure_browser() {
	local pkgs=()
	zx_have chromium || pkgs+=(chromium)
	[[ -e /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ]] || pkgs+=(fonts-wqy-zenhei)
	((${#pkgs[@]} == 0)) && return 0
	zx_log "installing ${pkgs[*]} for the browser tests"
	zx_apt_install "${pkgs[@]}"
}

cmd_up() {
	local with="${ZX_SERVICES_WITH:-}"
	while (($#)); do
		case "$1" in
		--with) with="${with:+$with,}${2:?--with needs a list: redis,postgis}"; shift 2 ;;
		--with=*) with="${with:+$with,}${1#--with=}"; shift ;;
		*) zx_die "up: unknown argument $1" ;;
		esac
	done
	local extras=() x
	IFS=',' read -r -a extras <<<"${with// /,}"
	for x in "${extras[@]}"; do
		case "$x" in redis | postgis | "") ;; *) zx_die "up --with: unknown service '$x' (redis, postgis)" ;; esac
	done

	local t0
	t0=$(zx_now)
	ensure_browser
	"$ZX_DEPLOY/postgres.sh" start
	"$ZX_DEPLOY/kafka.sh" start
	for x in "${extras[@]}"; do
		case "$x" in
		redis) "$ZX_DEPLOY/redis.sh" start ;;
		postgis) "$ZX_DEPLOY/postgres.sh" postgis ;;
		esac
	done
	write_env
	zx_log "services up in $(($(zx_now) - t0)) s; environment in ${ENV_FILE#"$ZX_ROOT"/}"
}

cmd_down() {
	"$ZX_DEPLOY/redis.sh" stop
	"$ZX_DEPLOY/kafka.sh" stop
	"$ZX_DEPLOY/postgres.sh" stop
	rm -f "$ENV_FILE"
}

cmd_status() {
	local rc=0
	"$ZX_DEPLOY/kafka.sh" status || rc=1
	"$ZX_DEPLOY/postgres.sh" status || rc=1
	"$ZX_DEPLOY/redis.sh" status 2>/dev/null || true
	[[ -f $ENV_FILE ]] && echo "env       ${ENV_FILE}" || echo "env       (no .services.env: run deploy/services.sh up)"
	return $rc
}

cmd_clean() {
	cmd_down
	local pgdir
	pgdir="$("$ZX_DEPLOY/postgres.sh" dir)"
	zx_log "deleting $ZX_STATE and $pgdir"
	rm -rf "$pgdir"
	# Keep the fetched Kafka jars (.services/kafka/<version>/): they are a cache, not state.
	find "$ZX_STATE" -mindepth 1 -maxdepth 1 ! -name kafka -exec rm -rf {} +
	if [[ -d $ZX_STATE/kafka ]]; then
		find "$ZX_STATE/kafka" -mindepth 1 -maxdepth 1 ! -name '[0-9]*.[0-9]*' -exec rm -rf {} +
	fi
}

cmd="${1:-}"
(($#)) && shift
case "$cmd" in up | down | clean | start | stop | restart) zx_lock ;; esac
case "$cmd" in
up) cmd_up "$@" ;;
down) cmd_down ;;
status) cmd_status ;;
env) write_env; cat "$ENV_FILE" ;;
clean) cmd_clean ;;
start | stop | restart)
	[[ $# -ge 1 ]] || zx_die "usage: deploy/services.sh $cmd kafka|postgres|redis"
	script="$(svc_script "$1")"
	shift
	"$script" "$cmd" "$@"
	# Keep .services.env in step (an optional service's line comes and goes with it).
	if [[ -f $ENV_FILE ]]; then write_env; fi
	;;
*)
	sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
