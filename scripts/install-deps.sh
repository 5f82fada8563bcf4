#!/usr/bin/env bash
# Installs what Ferry's tests need and the machine lacks: Debian packages
# for the servers the end-to-end tests run, and staticcheck.
#
#   scripts/install-deps.sh            # the default package list below
#   scripts/install-deps.sh pkg ...    # just these Debian packages
#
# Safe to run again: it installs only what is missing, runs apt-get update
# only when something is, and prints one line per thing it installs.
set -euo pipefail

# Servers the end-to-end tests start (internal/testenv). One word each.
DEFAULT_PACKAGES=(
	prosody
	# mod_privilege (XEP-0356) for Prosody.
	prosody-modules
	# The core and IRC flows run against ejabberd too (Erlang comes with it).
	ejabberd
	ngircd
	kannel
	kannel-extras
	dovecot-imapd
	postfix
	# systemd-analyze and systemd-sysusers check the packaged unit
	# (scripts/check-packaging.sh).
	systemd
)

# A release of honnef.co/go/tools that builds with the Go in go.mod.
STATICCHECK_VERSION=v0.8.2

log() { printf 'install-deps: %s\n' "$*"; }

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		log "need root (or sudo) to run: $*" >&2
		exit 1
	fi
}

install_packages() {
	local missing=() pkg
	for pkg in "$@"; do
		installed "$pkg" || missing+=("$pkg")
	done
	[ "${#missing[@]}" -eq 0 ] && return 0
	if ! command -v apt-get >/dev/null 2>&1; then
		log "apt-get not found; install by hand: ${missing[*]}" >&2
		exit 1
	fi

	# Keep the packages' own services from starting: the tests run private
	# instances on random ports, and a system daemon would only hold ports.
	local policy=/usr/sbin/policy-rc.d
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
		as_root chmod 755 "$policy"
		trap 'as_root rm -f '"$policy" EXIT
	fi

	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	for pkg in "${missing[@]}"; do
		log "installing $pkg (apt-get)"
	done
	as_root env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_staticcheck() {
	if command -v staticcheck >/dev/null 2>&1; then
		return 0
	fi
	if ! command -v go >/dev/null 2>&1; then
		log "go not found; cannot install staticcheck" >&2
		exit 1
	fi
	local bin
	bin="$(go env GOBIN)"
	[ -n "$bin" ] || bin="$(go env GOPATH | cut -d: -f1)/bin"
	if [ ! -x "$bin/staticcheck" ]; then
		log "installing staticcheck $STATICCHECK_VERSION (go install, into $bin)"
		# Outside any module, so the project's go.mod is neither read nor changed.
		(cd / && GOBIN="$bin" go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION")
	fi
	case ":$PATH:" in
	*":$bin:"*) ;;
	*) log "note: $bin is not on PATH; add it to run staticcheck" ;;
	esac
}

if [ "$#" -gt 0 ]; then
	install_packages "$@"
else
	install_packages "${DEFAULT_PACKAGES[@]}"
fi
install_staticcheck
