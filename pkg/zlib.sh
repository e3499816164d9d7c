# zlib: the deflate compression library: zlib.h, libz.a, zlib.pc (CMake's FindZLIB finds it).
summary="zlib, the deflate compression library"
source=zlib
deps=""

build() {
    # zlib's own configure: --static builds only libz.a.
    ./configure --static --prefix="$KILN_PKG_PREFIX"
    make -j"$KILN_PKG_JOBS" libz.a
    make install DESTDIR="$KILN_PKG_DESTDIR"
    rm -rf "$KILN_PKG_DESTDIR$KILN_PKG_PREFIX/share/man"
}

tests() {
    # test/example.c (the round trip through every API) and minigzip, linked as images.
    rm -f example minigzip
    make -j"$KILN_PKG_JOBS" example minigzip
    cp example minigzip "$KILN_PKG_TESTS"/
}
