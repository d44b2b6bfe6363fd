#!/usr/bin/env bash
# Schemathesis, the independent checker of the OpenAPI document, pinned, in a
# virtualenv of its own outside the checkout.
#
#   deploy/schemathesis.sh install   install it when missing; print the path of the command
#   deploy/schemathesis.sh ARGS...   install it when missing, then run `schemathesis ARGS...`,
#                                    as in `deploy/schemathesis.sh run http://127.0.0.1:8080/openapi.json`
#
# Settings (environment): ZX_SCHEMATHESIS_VENV (the virtualenv,
# ${XDG_CACHE_HOME:-~/.cache}/zhengxiang/schemathesis-<version>), PYTHON (python3).
# python3 comes from the machine; on Debian, python3-venv is installed when
# `python3 -m venv` cannot make a virtualenv.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SCHEMATHESIS_VERSION=4.32.5
PYTHON="${PYTHON:-python3}"
VENV="${ZX_SCHEMATHESIS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/zhengxiang/schemathesis-$SCHEMATHESIS_VERSION}"
ST="$VENV/bin/schemathesis"

installed() {
	[[ -x $ST ]] && "$ST" --version 2>/dev/null | grep -qF "version $SCHEMATHESIS_VERSION"
}

cmd_install() {
	if installed; then
		printf '%s\n' "$ST"
		return 0
	fi
	zx_have "$PYTHON" || zx_apt_install python3 python3-venv
	rm -rf "$VENV"
	mkdir -p "$(dirname "$VENV")"
	if ! "$PYTHON" -m venv "$VENV" >/dev/null 2>&1; then
		# Debian's python3 keeps ensurepip in a package of its own.
		zx_log "python3 -m venv failed; installing python3-venv"
		rm -rf "$VENV"
		zx_apt_install python3-venv
		"$PYTHON" -m venv "$VENV"
	fi
	zx_log "installing schemathesis $SCHEMATHESIS_VERSION into $VENV (from PyPI)"
	if ! "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >"$VENV/pip.log" 2>&1; then
		zx_tail "$VENV/pip.log" 20
		rm -rf "$VENV"
		zx_die "could not install schemathesis $SCHEMATHESIS_VERSION"
	fi
	installed || zx_die "schemathesis $SCHEMATHESIS_VERSION does not run from $VENV"
	printf '%s\n' "$ST"
}

case "${1:-}" in
install) cmd_install ;;
"")
	echo "usage: $0 install | SCHEMATHESIS_ARGS..." >&2
	exit 2
	;;
*)
	cmd_install >/dev/null
	exec "$ST" "$@"
	;;
esac
