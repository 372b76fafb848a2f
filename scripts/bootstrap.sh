#!/bin/sh
# bootstrap.sh - install the Debian packages authmilter needs (only those
# missing; apt-get update once, only then), then configure and build.
# Used by both README quick-start lines and by .ci/run.
set -e
cd "$(dirname "$0")/.."

# build: compiler, autotools, libraries; test: check, ldns-testns, Postfix, swaks, PyYAML,
# DKIM signers (dkimpy) and OpenDKIM for the differential test, dpkg tools for the
# package test, libwrap0 and m4 for the private Sendmail the Sendmail test unpacks,
# GNU time for the DKIM memory checks, valgrind for the end-to-end memcheck run
packages="build-essential autoconf automake pkg-config libmilter-dev libldns-dev
	libopendkim-dev libmicrohttpd-dev libpsl-dev libidn2-dev publicsuffix libssl-dev check ldnsutils postfix swaks python3 python3-yaml strace
	python3-dkim python3-authres python3-nacl opendkim libmail-dkim-perl debhelper dpkg-dev fakeroot
	libwrap0 m4 time
	valgrind clang-14 libclang-rt-14-dev
	libcurl4-openssl-dev nginx-light
	libsqlite3-dev libpq-dev postgresql-15 sqlite3
	zlib1g-dev libxml2-utils dmarc-cat python3-aiosmtpd openssl"

missing=""
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "bootstrap: installing$missing"
	SUDO=""
	[ "$(id -u)" = 0 ] || SUDO=sudo
	# Postfix asks how to configure the system MTA; the tests run their own instance.
	echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

[ -x configure ] || autoreconf -fi
[ -f Makefile ] || ./configure --enable-werror
make -j"$(nproc)"
