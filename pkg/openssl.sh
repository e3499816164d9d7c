# OpenSSL 3: TLS 1.2 and 1.3 and general-purpose cryptography: libssl.a, libcrypto.a,
# openssl.pc/libssl.pc/libcrypto.pc (CMake's FindOpenSSL finds them), and the openssl program.
summary="OpenSSL 3, TLS 1.2/1.3 and cryptography"
source=openssl
deps=""

build() {
    # OpenSSL's own optimization flags (-O3); Kiln's come with the compiler wrapper.
    unset CFLAGS CXXFLAGS CPPFLAGS LDFLAGS
    # Static only. OPENSSLDIR /etc/ssl is where the program finds openssl.cnf and the CA
    # store in the VM (give it with --files); no AF_ALG engine (Linux's kernel crypto), no
    # loadable modules or engines (no dynamic loader).
    ./Configure linux-x86_64 --prefix="$KILN_PKG_PREFIX" --libdir=lib --openssldir=/etc/ssl \
        no-shared no-module no-dso no-afalgeng
    make -j"$KILN_PKG_JOBS" build_libs
    make -j"$KILN_PKG_JOBS" apps/openssl
    make install_dev DESTDIR="$KILN_PKG_DESTDIR"
    install -D -m 755 apps/openssl "$KILN_PKG_DESTDIR$KILN_PKG_PREFIX/bin/openssl"
}

tests() {
    # The test programs the suite boots (none of them forks), and the data they read.
    local KILN_OPENSSL_TESTS="evp_test sslapitest tls13encryptiontest tls13ccstest servername_test
        recordlentest bntest ecdsatest rsa_test x509_time_test asn1_time_test"
    local t
    for t in $KILN_OPENSSL_TESTS; do
        rm -f "test/$t"
    done
    rm -f apps/openssl
    make -j"$KILN_PKG_JOBS" apps/openssl $(for t in $KILN_OPENSSL_TESTS; do echo "test/$t"; done)
    mkdir -p "$KILN_PKG_TESTS/bin" "$KILN_PKG_TESTS/files/test"
    for t in $KILN_OPENSSL_TESTS; do
        cp "test/$t" "$KILN_PKG_TESTS/bin/"
    done
    cp apps/openssl "$KILN_PKG_TESTS/bin/"
    # The VM's files: /test/... as the test recipes name them.
    cp -R test/certs "$KILN_PKG_TESTS/files/test/certs"
    cp test/default.cnf "$KILN_PKG_TESTS/files/test/"
    install -D -m 644 apps/server.pem "$KILN_PKG_TESTS/files/apps/server.pem"
    mkdir -p "$KILN_PKG_TESTS/files/test/recipes"
    cp -R test/recipes/30-test_evp_data test/recipes/90-test_sslapi_data \
        test/recipes/10-test_bn_data "$KILN_PKG_TESTS/files/test/recipes/"
}
