#!/bin/sh
# build.sh - build the libFuzzer harnesses into tests/fuzz/build/ with
# clang-14 and ASan + UBSan, from lib/ sources compiled the same way (the
# autotools build is left alone). Only what changed is recompiled.
# usage: tests/fuzz/build.sh [TARGET...]     (default: every fuzz_*.c)
set -e
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${FUZZ_BUILD:-$here/build}
cc=${FUZZ_CC:-clang-14}
command -v "$cc" >/dev/null || { echo "build.sh: $cc not found (apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 2; }

pkgs="ldns opendkim libpsl libidn2 libcrypto sqlite3 libpq"
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
cflags="-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Werror $san
	-I$top/lib -I$here $(pkg-config --cflags $pkgs)"
libs="$(pkg-config --libs $pkgs) -pthread"

mkdir -p "$out/obj"
# newer - is $1 missing or older than any of the other files?
newer() {
	_target=$1; shift
	[ -e "$_target" ] || return 0
	for f in "$@"; do [ "$f" -nt "$_target" ] && return 0; done
	return 1
}

headers="$top/lib/*.h $here/*.h $here/dkim_keys.inc $here/arc_keys.inc $here/build.sh $top/milter/proto*.[ch] $top/milter/steps.h $top/report/dest.[ch]"
objs=""
for src in "$top"/lib/*.c "$here/fakedns.c" "$here/fuzzmsg.c"; do
	o="$out/obj/$(basename "$src" .c).o"
	# shellcheck disable=SC2086
	if newer "$o" "$src" $headers; then
		echo "  CC      $(basename "$src")"
		# shellcheck disable=SC2086
		$cc $cflags -fsanitize=fuzzer-no-link -c "$src" -o "$o"
	fi
	objs="$objs $o"
done
# shellcheck disable=SC2086
if newer "$out/libfuzzlib.a" $objs; then
	rm -f "$out/libfuzzlib.a"
	# shellcheck disable=SC2086
	ar cr "$out/libfuzzlib.a" $objs
fi

targets="$*"
[ -n "$targets" ] || targets=$(cd "$here" && ls fuzz_*.c | sed 's/\.c$//')
for t in $targets; do
	# shellcheck disable=SC2086
	if newer "$out/$t" "$here/$t.c" "$out/libfuzzlib.a" $headers; then
		echo "  FUZZ    $t"
		# shellcheck disable=SC2086
		$cc $cflags -fsanitize=fuzzer "$here/$t.c" "$out/libfuzzlib.a" $libs -o "$out/$t"
	fi
done
