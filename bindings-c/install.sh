#!/usr/bin/env bash
# Installs the C library built by `make c` (target/release) the way cargo-c lays it out:
#   $DESTDIR$LIBDIR/libfootmetrics.a
#   $DESTDIR$LIBDIR/libfootmetrics.so.X.Y.Z  (soname libfootmetrics.so.X, set by build.rs)
#   $DESTDIR$LIBDIR/libfootmetrics.so.X -> libfootmetrics.so.X.Y.Z
#   $DESTDIR$LIBDIR/libfootmetrics.so   -> libfootmetrics.so.X
#   $DESTDIR$INCLUDEDIR/footmetrics.h, footmetrics_catalog.h
#   $DESTDIR$LIBDIR/pkgconfig/footmetrics.pc
# Both libraries are installed without debug information (`strip --strip-debug` on the archive,
# `--strip-unneeded` on the shared object, which keeps its exported symbols).
#
# Usage: install.sh BUILD_DIR VERSION PREFIX LIBDIR INCLUDEDIR   (DESTDIR and STRIP from the
# environment). Run by `make install` / `make dist-c` from the repository root.
set -euo pipefail

build=$1 version=$2 prefix=$3 libdir=$4 includedir=$5
destdir=${DESTDIR:-}
strip=${STRIP:-strip}
major=${version%%.*}
real=libfootmetrics.so.$version
soname=libfootmetrics.so.$major
# What the static library needs from the system besides libc: the list rustc prints with
# `--print native-static-libs` for this crate on Linux (libgcc_s for unwinding is linked by every
# C compiler driver already). `make test-dist-c` links a program with exactly these.
libs_private="-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"

for f in "$build/libfootmetrics.a" "$build/libfootmetrics.so"; do
  [ -f "$f" ] || { echo "install.sh: $f is missing: run make c first" >&2; exit 1; }
done
case $prefix in /*) ;; *) echo "install.sh: PREFIX must be absolute, not '$prefix'" >&2; exit 1 ;; esac

# In the .pc file, directories under the prefix are written relative to ${prefix}, so
# `pkg-config --define-prefix` can relocate an unpacked tree.
relative() {
  case $1 in
    "$prefix") echo '${prefix}' ;;
    "$prefix"/*) echo '${prefix}'"${1#"$prefix"}" ;;
    *) echo "$1" ;;
  esac
}

lib=$destdir$libdir
inc=$destdir$includedir
install -d "$lib" "$lib/pkgconfig" "$inc"
install -m 0644 "$build/libfootmetrics.a" "$lib/libfootmetrics.a"
"$strip" --strip-debug "$lib/libfootmetrics.a"
install -m 0755 "$build/libfootmetrics.so" "$lib/$real"
"$strip" --strip-unneeded "$lib/$real"
ln -sfn "$real" "$lib/$soname"
ln -sfn "$soname" "$lib/libfootmetrics.so"
install -m 0644 bindings-c/include/footmetrics.h bindings-c/include/footmetrics_catalog.h "$inc/"
sed -e "s|@PREFIX@|$prefix|" \
    -e "s|@LIBDIR@|$(relative "$libdir")|" \
    -e "s|@INCLUDEDIR@|$(relative "$includedir")|" \
    -e "s|@VERSION@|$version|" \
    -e "s|@LIBS_PRIVATE@|$libs_private|" \
    bindings-c/footmetrics.pc.in > "$lib/pkgconfig/footmetrics.pc"
chmod 0644 "$lib/pkgconfig/footmetrics.pc"
echo "installed libfootmetrics $version (soname $soname) under ${destdir}${prefix}"
