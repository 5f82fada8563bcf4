#!/usr/bin/env bash
# Checks what Ferry ships besides its code (called by scripts/test.sh):
#   - the systemd unit passes `systemd-analyze verify`, the sysusers entry
#     parses;
#   - `make deb` builds a package holding the binary, unit, sysusers and
#     tmpfiles entries, example config and man page;
#   - the container recipe: the binary it copies (make build) is static,
#     its user is not root, config and state are volumes (no container
#     engine here, so the image itself is not built);
#   - in CI (CI=true, as root): the .deb is installed with dpkg, `ferry
#     version` runs from it, the unit is verified where it was installed,
#     the ferry user reads its config; then the package is purged.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { printf 'check-packaging: %s\n' "$*" >&2; exit 1; }
say() { printf 'check-packaging: %s\n' "$*"; }

tmp=$(mktemp -d /tmp/ferry-check-packaging.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

say "building the .deb (make deb)"
make --no-print-directory deb >"$tmp/deb.log" 2>&1 || { cat "$tmp/deb.log"; fail "make deb failed"; }
debs=(dist/*.deb)
[ "${#debs[@]}" -eq 1 ] || fail "expected one package in dist/, found ${debs[*]}"
deb=${debs[0]}
bin=dist/build/ferry

# The binary: static (the container image has no libc), stamped.
if ldd "$bin" >/dev/null 2>&1; then
	fail "$bin is dynamically linked; the container image and the .deb need a static binary"
fi
commit=$(git rev-parse --short=12 HEAD)
version=$("$bin" version)
case "$version" in
*"commit $commit"*) say "built: $version" ;;
*) fail "ferry version says \"$version\", which does not name commit $commit" ;;
esac

# What the package holds.
contents=$(dpkg-deb -c "$deb")
for path in ./usr/bin/ferry ./usr/lib/systemd/system/ferry.service ./usr/lib/sysusers.d/ferry.conf \
	./usr/lib/tmpfiles.d/ferry.conf ./etc/ferry/ferry.toml ./usr/share/man/man1/ferry.1.gz \
	./usr/share/doc/ferry/copyright ./usr/share/doc/ferry/examples/ferry.example.toml; do
	grep -q " $path\$" <<<"$contents" || fail "$deb lacks $path"
done
# grep reads to the end: -q would stop early and, under pipefail, tar
# writing into the closed pipe would fail the check at random.
dpkg-deb --ctrl-tarfile "$deb" | tar -tf - | grep conffiles >/dev/null || fail "$deb declares no conffiles"

# The unit, against the binary just built (systemd-analyze checks that
# ExecStart exists and is executable).
mkdir -p "$tmp/unit"
sed "s#/usr/bin/ferry#$PWD/$bin#g" packaging/ferry.service >"$tmp/unit/ferry.service"
systemd-analyze verify --man=no "$tmp/unit/ferry.service" || fail "systemd-analyze verify refused packaging/ferry.service"
for key in 'User=ferry' 'StateDirectory=ferry' 'ProtectSystem=strict' 'NoNewPrivileges=yes' 'PrivateTmp=yes' \
	'CapabilityBoundingSet=' 'RestrictAddressFamilies=' 'SystemCallFilter=@system-service'; do
	grep -q "^$key" packaging/ferry.service || fail "packaging/ferry.service lacks $key"
done
systemd-sysusers --dry-run "$PWD/packaging/ferry.sysusers" >/dev/null 2>&1 || fail "systemd-sysusers refused packaging/ferry.sysusers"
say "unit verified; sysusers entry parses"

# The container recipe: built by make build (CGO_ENABLED=0, checked static
# above), runs as a non-root numeric user, config and state as volumes.
grep -q 'make build' Containerfile || fail "Containerfile does not build with make build"
grep -q '^FROM scratch' Containerfile || fail "Containerfile's image is not on an empty base"
user=$(awk '$1 == "USER" { u = $2 } END { print u }' Containerfile)
uid=${user%%:*}
case "$uid" in
'' | 0 | root | *[!0-9]*) fail "Containerfile runs as \"$user\"; it must be a numeric non-root user" ;;
esac
grep -q '^VOLUME \["/etc/ferry", "/var/lib/ferry"\]' Containerfile || fail "Containerfile lacks the config and state volumes"
say "Containerfile: static binary, user $user, volumes /etc/ferry and /var/lib/ferry (image not built: no container engine)"

if [ "${CI:-}" != true ] || [ "$(id -u)" -ne 0 ]; then
	say "not installing the .deb (only in CI as root); done"
	exit 0
fi
if dpkg-query -W -f='${Status}' ferry 2>/dev/null | grep -q 'install ok installed'; then
	fail "a ferry package is already installed on this machine; not replacing it"
fi
had_user=no
getent passwd ferry >/dev/null && had_user=yes
cleanup() {
	dpkg --purge ferry >/dev/null 2>&1 || true
	if [ "$had_user" = no ]; then
		userdel ferry >/dev/null 2>&1 || true
		groupdel ferry >/dev/null 2>&1 || true
		rm -rf /var/lib/ferry /etc/ferry
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
say "installing $deb"
dpkg -i "$deb" >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; fail "dpkg -i failed"; }
installed=$(/usr/bin/ferry version)
[ "$installed" = "$version" ] || fail "installed ferry says \"$installed\", want \"$version\""
systemd-analyze verify --man=no /usr/lib/systemd/system/ferry.service || fail "installed unit does not verify"
getent passwd ferry >/dev/null || fail "postinst did not create the ferry user"
mode=$(stat -c '%a %U:%G' /etc/ferry/ferry.toml)
[ "$mode" = "640 root:ferry" ] || fail "/etc/ferry/ferry.toml is $mode, want 640 root:ferry"
setpriv --reuid=ferry --regid=ferry --clear-groups --inh-caps=-all \
	/usr/bin/ferry check-config /etc/ferry/ferry.toml >/dev/null 2>"$tmp/check.err" ||
	fail "check-config as the ferry user refused the installed example: $(cat "$tmp/check.err")"
say "installed: $installed; unit verified in place; /etc/ferry/ferry.toml $mode"
dpkg --purge ferry >/dev/null
[ ! -e /usr/bin/ferry ] || fail "dpkg --purge left /usr/bin/ferry"
say "package removed; done"
