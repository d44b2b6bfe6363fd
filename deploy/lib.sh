# Shared helpers for the deploy/ scripts (sourced, not run).
# Everything here works on loopback only and keeps its state in the checkout's
# .services/ folder (PostgreSQL's data sits under /var/tmp, see postgres.sh).

# Repository root and scratch folders.
ZX_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
ZX_STATE="${ZX_SERVICES_DIR:-$ZX_ROOT/.services}"
ZX_DEPLOY="$ZX_ROOT/deploy"

zx_log()  { printf '[services] %s\n' "$*" >&2; }
zx_die()  { printf '[services] error: %s\n' "$*" >&2; exit 1; }
zx_have() { command -v "$1" >/dev/null 2>&1; }

# zx_tail FILE [N]: the last N lines of a log, indented, for error messages.
zx_tail() {
	local f="$1" n="${2:-40}"
	if [[ -s "$f" ]]; then
		printf '[services] ---- last %s lines of %s ----\n' "$n" "$f" >&2
		tail -n "$n" "$f" | sed 's/^/    /' >&2
		printf '[services] ----\n' >&2
	else
		printf '[services] (%s is empty or missing)\n' "$f" >&2
	fi
}

# zx_apt_install PKG...: install Debian packages non-interactively. Runs
# `apt-get update` once when the first try fails (a fresh machine has no lists).
# Services that a package would start by itself (the distribution's own
# postgresql cluster on 5432, redis on 6379) are kept from starting with a
# temporary policy-rc.d, as in container images; ours run on their own ports.
zx_apt_install() {
	local sudo=()
	if [[ $EUID -ne 0 ]]; then
		zx_have sudo || zx_die "need root (or sudo) to install: $*"
		sudo=(sudo -n)
	fi
	local policy=/usr/sbin/policy-rc.d made_policy=0
	if [[ ! -e $policy ]]; then
		"${sudo[@]}" sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy" && made_policy=1
	fi
	local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -y -q
		-o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
	local rc=0
	if ! "${apt[@]}" install --no-install-recommends "$@" >/dev/null 2>"$ZX_STATE/apt.err"; then
		zx_log "apt-get install failed; running apt-get update and trying again"
		"${sudo[@]}" apt-get -q update -o DPkg::Lock::Timeout=300 >/dev/null 2>>"$ZX_STATE/apt.err" || true
		"${apt[@]}" install --no-install-recommends "$@" >/dev/null 2>>"$ZX_STATE/apt.err" || rc=$?
	fi
	if ((made_policy)); then "${sudo[@]}" rm -f "$policy"; fi
	if ((rc != 0)); then
		zx_tail "$ZX_STATE/apt.err" 20
		zx_die "could not install: $*"
	fi
}

# zx_port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
zx_port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# zx_who_listens PORT: a line saying which process listens on the port, if known.
zx_who_listens() {
	if zx_have ss; then
		ss -Hltnp "sport = :$1" 2>/dev/null | sed 's/^/    /' >&2 || true
	fi
}

# zx_pid_alive PIDFILE PATTERN: true when the pid in PIDFILE is running and its
# command line contains PATTERN (guards against a recycled pid).
zx_pid_alive() {
	local pidfile="$1" pattern="$2" pid
	[[ -s $pidfile ]] || return 1
	pid="$(head -n1 "$pidfile" | tr -dc 0-9)"
	[[ -n $pid ]] && zx_running "$pid" || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$pattern"
}

# zx_running PID: true while the process exists and is not a zombie.
zx_running() {
	local st
	st="$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null)" || return 1
	[[ -n $st && $st != Z && $st != X ]]
}

# zx_kill_pid PID NAME TIMEOUT [SIGNAL]: SIGNAL (TERM), wait up to TIMEOUT
# seconds, then SIGKILL.
zx_kill_pid() {
	local pid="$1" name="$2" timeout="${3:-30}" sig="${4:-TERM}" i
	kill -"$sig" "$pid" 2>/dev/null || return 0
	for ((i = 0; i < timeout * 10; i++)); do
		zx_running "$pid" || return 0
		sleep 0.1
	done
	zx_log "$name (pid $pid) still running after ${timeout} s; sending SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		zx_running "$pid" || return 0
		sleep 0.1
	done
	zx_die "$name (pid $pid) did not die"
}

# zx_env NAME VALUE: one line of .services.env, single-quoted for the shell.
zx_env() {
	local v="${2//\'/\'\\\'\'}"
	printf "%s='%s'\n" "$1" "$v"
}

# zx_lock: serialize the commands that start or stop something (two test
# packages may restart a service at the same moment). The lock is held until
# the script exits, and is inherited by the scripts it runs.
zx_lock() {
	[[ -n ${ZX_SERVICES_LOCKED:-} ]] && return 0
	exec 9>"$ZX_STATE/.lock"
	if ! flock -w "${ZX_SERVICES_LOCK_TIMEOUT:-600}" 9; then
		zx_die "another deploy/ command holds $ZX_STATE/.lock"
	fi
	export ZX_SERVICES_LOCKED=1
}

# zx_now: seconds since the epoch (for "ready in N s").
zx_now() { date +%s; }

mkdir -p "$ZX_STATE"
