#!/usr/bin/env bash
# bench/openssl-tests.sh: OpenSSL's own test programs that run without fork (those of
# tests/pkg.rs plus the long ones, bntest and ecdsatest), each booted in a Kiln VM with the
# test data as its files, with how long each took. tests/pkg.rs checks the short ones in CI;
# this is the long run. Builds OpenSSL with `kiln pkg` first if needed.
# Usage: bench/openssl-tests.sh [MACHINE]   (default microvm)
set -euo pipefail
cd "$(dirname "$0")/.."
machine=${1:-microvm}
root=$(pwd)
tests=$(./kiln pkg tests openssl)
cd "$tests/files"
evp=test/recipes/30-test_evp_data
sslapi="test/certs test/recipes/90-test_sslapi_data/passwd.txt /tmp/sslapitest.tmp default test/default.cnf test/recipes/90-test_sslapi_data/dhparams.pem"
cases=(
    "tls13encryptiontest"
    "tls13ccstest apps/server.pem apps/server.pem"
    "servername_test apps/server.pem apps/server.pem"
    "recordlentest apps/server.pem apps/server.pem"
    "rsa_test" "x509_time_test" "asn1_time_test" "bntest" "ecdsatest"
    "sslapitest $sslapi"
)
for f in "$evp"/*.txt; do cases+=("evp_test -config test/default.cnf $f"); done
echo "machine: $(nproc) cores, $(qemu-system-x86_64 --version | head -1), TCG, -M $machine"
echo "| program | arguments | status | ok | not ok | seconds |"
echo "|---|---|---|---|---|---|"
failed=0
for c in "${cases[@]}"; do
    read -r -a words <<<"$c"
    start=$(date +%s.%N)
    status=0
    "$root/kiln" run --machine "$machine" -m 1G --timeout 3600 --files . "$tests/bin/${words[0]}" \
        -- "${words[@]:1}" >"$tests/last.txt" 2>&1 || status=$?
    end=$(date +%s.%N)
    ok=$(grep -cE '^ *ok [0-9]' "$tests/last.txt" || true)
    bad=$(grep -cE '^ *not ok [0-9]' "$tests/last.txt" || true)
    [ "$status" = 0 ] && [ "$bad" = 0 ] || failed=1
    awk -v p="${words[0]}" -v a="${words[*]:1}" -v s="$status" -v o="$ok" -v b="$bad" \
        -v t0="$start" -v t1="$end" 'BEGIN { printf "| %s | %s | %s | %s | %s | %.1f |\n", p, a, s, o, b, t1 - t0 }'
done
exit $failed
