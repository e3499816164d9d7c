# PCRE2: Perl-compatible regular expressions, 8-, 16- and 32-bit libraries and the POSIX
# wrapper; libpcre2-*.pc and the pcre2 CMake package (find_package(pcre2)).
summary="PCRE2, Perl-compatible regular expressions"
source=pcre2
deps=""

build() {
    # Its CMake build, through Kiln's toolchain file. No JIT: it would need memory that is
    # writable and executable at once, which images refuse (kiln.wx=allow permits it).
    cmake -S . -B kiln-build -DCMAKE_TOOLCHAIN_FILE="$KILN_ROOT/cmake/kiln.cmake" \
        -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$KILN_PKG_PREFIX" \
        -DBUILD_SHARED_LIBS=OFF -DBUILD_STATIC_LIBS=ON \
        -DPCRE2_BUILD_PCRE2_8=ON -DPCRE2_BUILD_PCRE2_16=ON -DPCRE2_BUILD_PCRE2_32=ON \
        -DPCRE2_SUPPORT_JIT=OFF -DPCRE2_SUPPORT_UNICODE=ON \
        -DPCRE2_BUILD_PCRE2GREP=ON -DPCRE2_BUILD_TESTS=ON
    cmake --build kiln-build -j"$KILN_PKG_JOBS"
    DESTDIR="$KILN_PKG_DESTDIR" cmake --install kiln-build
    # CMake looks for package files under lib/cmake on Unix; PCRE2 installs them in cmake/.
    local root="$KILN_PKG_DESTDIR$KILN_PKG_PREFIX"
    mkdir -p "$root/lib/cmake"
    mv "$root/cmake" "$root/lib/cmake/pcre2"
    rm -rf "$root/share/doc" "$root/share/man"
}

tests() {
    # pcre2test, relinked against the current runtime, and the test data RunTest uses.
    rm -f kiln-build/pcre2test
    cmake --build kiln-build -j"$KILN_PKG_JOBS" --target pcre2test
    cp kiln-build/pcre2test "$KILN_PKG_TESTS"/
    cp -R testdata "$KILN_PKG_TESTS"/testdata
}
