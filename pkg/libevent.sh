# libevent 2.1: the event notification library (epoll), with its HTTP, DNS and RPC parts,
# the pthreads glue and bufferevents over OpenSSL: libevent*.a and libevent*.pc
# (pkg_check_modules(LIBEVENT libevent) in CMake, PKG_CHECK_MODULES in autotools).
summary="libevent 2.1, event notification (+ OpenSSL bufferevents)"
source=libevent
deps="openssl"

build() {
    # Debian's patches change Makefile.am: regenerate, as Debian's build does.
    autoreconf -fi
    # No --host: configure runs its test programs, which are Kiln images and run natively.
    # libevent_openssl finds OpenSSL through kiln-pkg-config in the Kiln sysroot.
    ./configure --prefix="$KILN_PKG_PREFIX" --disable-shared --enable-static \
        --disable-libevent-regress --disable-debug-mode --enable-samples
    make -j"$KILN_PKG_JOBS"
    make install DESTDIR="$KILN_PKG_DESTDIR"
}

tests() {
    # The sample servers, relinked against the current runtime.
    local samples="sample/hello-world sample/http-server sample/time-test sample/signal-test"
    rm -f $samples
    make -j"$KILN_PKG_JOBS" $samples
    cp $samples "$KILN_PKG_TESTS"/
}
