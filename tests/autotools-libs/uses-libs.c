/* OpenSSL, zlib and libevent, each used once. */
#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

int main(void)
{
    printf("openssl: %s, RAND_status %d\n", OpenSSL_version(OPENSSL_VERSION), RAND_status());
    static const char text[] = "autotools autotools autotools autotools";
    unsigned char packed[128], unpacked[128];
    uLongf packed_len = sizeof packed, unpacked_len = sizeof unpacked;
    if (compress(packed, &packed_len, (const Bytef *)text, sizeof text) != Z_OK ||
        uncompress(unpacked, &unpacked_len, packed, packed_len) != Z_OK ||
        memcmp(unpacked, text, sizeof text) != 0)
        return 1;
    printf("zlib: %s round trip ok\n", zlibVersion());
    struct event_base *base = event_base_new();
    if (!base)
        return 2;
    printf("libevent: %s with %s\n", event_get_version(), event_base_get_method(base));
    event_base_free(base);
    return 0;
}
