#!/usr/bin/env bash
# `make test-dist-c`: the C distribution as a user gets it.
#
# 1. The tarball in dist/ (made by `make dist-c`): its file list, the soname chain, no debug
#    information, a .pc file for the /usr/local prefix carrying the family's version.
# 2. `make install PREFIX=<temp dir>`, then docs/snippets/c/quickstart.c compiled in another temp
#    dir with only what pkg-config says (shared, then static), under ASan + UBSan, with every
#    Rust toolchain directory removed from PATH, and run. The shared program must load the
#    installed libfootmetrics.so.N (its NEEDED entry is the soname), the static one must need
#    no libfootmetrics at all.
#
# Usage: dist_test.sh VERSION [C_COMPILER]   (from the repository root, by make; MAKE from the
# environment). The compiler is an argument, not $CC in the environment: the nested
# `make install` runs cargo, and cargo rebuilds every crate with a C build script (ring, ...)
# when CC appears or disappears.
set -euo pipefail

version=$1
major=${version%%.*}
cc=${2:-cc}
make=${MAKE:-make}
repo=$PWD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test-dist-c: FAIL: $*" >&2; exit 1; }

# --- 1. the tarball -----------------------------------------------------------------------------
tarballs=(dist/footmetrics-c-"$version"-*.tar.gz)
[ -f "${tarballs[0]}" ] || fail "no dist/footmetrics-c-$version-*.tar.gz: run make dist-c"
[ "${#tarballs[@]}" -eq 1 ] || fail "more than one C tarball for $version: ${tarballs[*]}"
tarball=${tarballs[0]}
expected="usr/local/include/footmetrics.h
usr/local/include/footmetrics_catalog.h
usr/local/lib/libfootmetrics.a
usr/local/lib/libfootmetrics.so
usr/local/lib/libfootmetrics.so.$major
usr/local/lib/libfootmetrics.so.$version
usr/local/lib/pkgconfig/footmetrics.pc"
actual=$(tar -tzf "$tarball" | grep -v '/$' | sort)
[ "$actual" = "$expected" ] || fail "$tarball holds
$actual
instead of
$expected"
mkdir "$tmp/unpacked"
tar -xzf "$tarball" -C "$tmp/unpacked"
lib=$tmp/unpacked/usr/local/lib
[ "$(readlink "$lib/libfootmetrics.so")" = "libfootmetrics.so.$major" ] || fail "libfootmetrics.so does not point to libfootmetrics.so.$major"
[ "$(readlink "$lib/libfootmetrics.so.$major")" = "libfootmetrics.so.$version" ] || fail "libfootmetrics.so.$major does not point to libfootmetrics.so.$version"
readelf -d "$lib/libfootmetrics.so.$version" | grep -q "(SONAME).*\[libfootmetrics.so.$major\]" ||
  fail "the shared library has no SONAME libfootmetrics.so.$major"
for f in "$lib/libfootmetrics.so.$version" "$lib/libfootmetrics.a"; do
  ! readelf -S -W "$f" 2>/dev/null | grep -q ' \.debug_' || fail "$f still carries debug sections"
done
pc=$lib/pkgconfig/footmetrics.pc
grep -qx 'prefix=/usr/local' "$pc" || fail "the tarball's .pc file is not for /usr/local"
[ "$(PKG_CONFIG_PATH=$lib/pkgconfig PKG_CONFIG_LIBDIR= pkg-config --modversion footmetrics)" = "$version" ] ||
  fail "pkg-config --modversion footmetrics is not $version"
echo "tarball $tarball: files, soname chain, no debug info, footmetrics.pc $version: ok"

# --- 2. install into a temporary prefix, build the quickstart with pkg-config only -------------
prefix=$tmp/prefix
env -u CC "$make" --no-print-directory -s install PREFIX="$prefix" >/dev/null
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig PKG_CONFIG_LIBDIR=
[ "$(pkg-config --modversion footmetrics)" = "$version" ] || fail "installed footmetrics.pc is not $version"
cmp -s "$prefix/lib/libfootmetrics.a" "$lib/libfootmetrics.a" || fail "make install and the tarball differ (libfootmetrics.a)"

# PATH without cargo, rustc or rustup: the C user has no Rust toolchain.
path=
IFS=: read -ra dirs <<<"$PATH"
for d in "${dirs[@]}"; do
  [ -n "$d" ] || continue
  [ -e "$d/cargo" ] || [ -e "$d/rustc" ] || [ -e "$d/rustup" ] && continue
  path=${path:+$path:}$d
done

cp docs/snippets/c/quickstart.c "$tmp/quickstart.c"
san=(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
read -ra cflags <<<"$(pkg-config --cflags footmetrics)"
read -ra shared_libs <<<"$(pkg-config --libs footmetrics)"
# With both libfootmetrics.a and .so in one directory, `-lfootmetrics` picks the shared one; a
# static link names the archive (`-l:libfootmetrics.a`) and adds the `--static` libraries.
static_libs=()
for w in $(pkg-config --static --libs footmetrics); do
  [ "$w" = -lfootmetrics ] && w=-l:libfootmetrics.a
  static_libs+=("$w")
done
libdir=$(pkg-config --variable=libdir footmetrics)
[ "$libdir" = "$prefix/lib" ] || fail "pkg-config libdir is $libdir, not $prefix/lib"

(
  cd "$tmp"
  export PATH=$path
  ! command -v cargo >/dev/null && ! command -v rustc >/dev/null || fail "a Rust toolchain is still on PATH"
  "$cc" -std=c11 -Wall -Wextra -Werror -O1 "${san[@]}" "${cflags[@]}" quickstart.c \
    "${shared_libs[@]}" -Wl,-rpath,"$libdir" -o quickstart-shared
  "$cc" -std=c11 -Wall -Wextra -Werror -O1 "${san[@]}" "${cflags[@]}" quickstart.c \
    "${static_libs[@]}" -o quickstart-static
)

needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
needed "$tmp/quickstart-shared" | grep -qx "libfootmetrics.so.$major" ||
  fail "the shared program does not need libfootmetrics.so.$major: $(needed "$tmp/quickstart-shared" | tr '\n' ' ')"
! needed "$tmp/quickstart-static" | grep -q libfootmetrics ||
  fail "the static program still needs a shared libfootmetrics"
loaded=$(env -u LD_LIBRARY_PATH ldd "$tmp/quickstart-shared" | sed -n 's/^\s*libfootmetrics[^ ]* => \(\S*\).*/\1/p')
[ "$loaded" = "$prefix/lib/libfootmetrics.so.$major" ] || fail "the shared program loads '$loaded', not the installed library"
case $loaded in "$repo"/*) fail "the shared program loads a library from the repository" ;; esac

# The quickstart checks its own exposition and error path, and exits non-zero on any mismatch.
for kind in shared static; do
  (cd "$tmp" && env -u LD_LIBRARY_PATH PATH="$path" ASAN_OPTIONS=detect_leaks=1 "./quickstart-$kind") ||
    fail "quickstart-$kind failed"
  echo "quickstart ($kind, pkg-config$([ $kind = static ] && echo ' --static'), ASan+UBSan, no Rust on PATH): ok"
done
echo "test-dist-c: ok"
