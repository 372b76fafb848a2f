#!/bin/bash
# deb.sh - build the Debian package from this tree with dpkg-buildpackage,
# install it, check what it installed, run one message through the installed
# binary and start it the way the unit does (as user authmilter), then purge.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/lib/common.sh"

# (a git worktree's .git is a file, not a directory: ask git)
if [ "$(id -u)" != 0 ] || ! command -v dpkg-buildpackage >/dev/null ||
	! git -C "$top_srcdir" rev-parse --git-dir >/dev/null 2>&1; then
	echo "SKIP: needs root, dpkg-buildpackage and a git checkout"
	exit 77
fi
WORK=$(mktemp -d /tmp/authmilter-deb.XXXXXX)
trap 'stop_testns; dpkg --purge authmilter >/dev/null 2>&1; rm -rf "$WORK"' EXIT

# the tracked files as they are in the working tree
mkdir "$WORK/authmilter-0.1.0"
git -C "$top_srcdir" ls-files -z --cached --others --exclude-standard | tar -C "$top_srcdir" --null -T - -cf - | tar -C "$WORK/authmilter-0.1.0" -xf -
if ! (cd "$WORK/authmilter-0.1.0" && DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -us -uc -b) >"$WORK/build.log" 2>&1; then
	tail -30 "$WORK/build.log"
	fail "dpkg-buildpackage -us -uc -b"
	finish
fi
DEB=$(ls "$WORK"/authmilter_*_amd64.deb 2>/dev/null | head -1)
check "package built: $(basename "${DEB:-none}")" [ -n "$DEB" ]
echo "--- dpkg -I"
dpkg -I "$DEB"
dpkg -c "$DEB" >"$WORK/contents"
for f in ./usr/sbin/authmilter ./etc/authmilter/authmilter.conf ./usr/share/man/man8/authmilter.8.gz \
	./usr/share/man/man5/authmilter.conf.5.gz ./lib/systemd/system/authmilter.service \
	./usr/share/doc/authmilter/MIGRATING.md; do
	check "package contains $f" grep -Eq " $f(\.gz)?\$" "$WORK/contents"
done
# The package keeps its system user on purge (Debian practice), so a user
# left by an earlier run would make "user exists" pass whatever postinst
# does: remove it first when the package is not installed.
if ! dpkg -s authmilter >/dev/null 2>&1 && getent passwd authmilter >/dev/null; then
	userdel authmilter 2>/dev/null
	getent group authmilter >/dev/null && groupdel authmilter 2>/dev/null
fi
user_before=$(getent passwd authmilter >/dev/null && echo yes || echo no)
check "dpkg -i installs it" dpkg -i "$DEB"
check "system user authmilter exists (before install: $user_before)" getent passwd authmilter
check "system group authmilter exists" getent group authmilter
version=$(dpkg-deb -f "$DEB" Version)
check "installed binary runs and is the package's version ($version)" [ "$(/usr/sbin/authmilter -V)" = "authmilter ${version%-*}" ]
check "installed conf is valid" /usr/sbin/authmilter -n -c /etc/authmilter/authmilter.conf

# one message through the installed binary
start_testns "$top_srcdir/tests/dns/cli.data" || exit 99
printf 'Nameservers 127.0.0.1:%s\nAuthservID pkg.test\n' "$NS_PORT" >"$WORK/test.conf"
printf 'From: a@pass.example\nSubject: package\n\nbody\n' >"$WORK/msg.eml"
out=$(/usr/sbin/authmilter -c "$WORK/test.conf" -t "$WORK/msg.eml" -i 192.0.2.1 -H helo.pass.example -s a@pass.example)
echo "$out"
check "installed binary: spf=pass for a message" grep -q '^Authentication-Results: pkg.test; spf=pass' <<<"$out"

# the service as the unit runs it: user authmilter, foreground, our conf
if [ -d /run/systemd/system ]; then
	check "systemctl starts authmilter" systemctl start authmilter
	check "service active" systemctl is-active authmilter
else
	P=$(free_port)
	printf 'Socket inet:%s@127.0.0.1\nNameservers 127.0.0.1:%s\n' "$P" "$NS_PORT" >"$WORK/svc.conf"
	chmod 644 "$WORK/svc.conf"; chmod 755 "$WORK"
	setpriv --reuid=authmilter --regid=authmilter --clear-groups /usr/sbin/authmilter -f -c "$WORK/svc.conf" >"$WORK/svc.log" 2>&1 &
	pid=$!
	wait_port "$P"
	neg=$(python3 "$top_srcdir/tests/lib/milterneg.py" "127.0.0.1:$P")
	check "installed daemon (no systemd here) answers the MTA: $(head -1 <<<"$neg")" \
		grep -q '^version=6 actions=0x131 protocol=0x143580$' <<<"$neg"
	check "installed daemon runs as user authmilter" \
		[ "$(awk '/^Uid:/ { print $2 }' /proc/"$pid"/status 2>/dev/null)" = "$(id -u authmilter)" ]
	kill "$pid"; wait "$pid"
	check "installed daemon stops cleanly" [ $? = 0 ]
fi
finish
