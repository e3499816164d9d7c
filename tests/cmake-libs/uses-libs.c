/* Uses each library once and prints what it got: OpenSSL (a digest, and an SSL object
 * inside a libevent bufferevent), zlib, SQLite, PCRE2, libevent. */
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

static int fired;

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    fired = 1;
}

static int on_row(void *arg, int n, char **values, char **names)
{
    (void)names;
    if (n == 1)
        snprintf(arg, 32, "%s", values[0]);
    return 0;
}

int main(void)
{
    printf("openssl: %s\n", OpenSSL_version(OPENSSL_VERSION));
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (!EVP_Digest("abc", 3, md, &md_len, EVP_sha256(), NULL))
        return 1;
    printf("sha256(abc): ");
    for (unsigned i = 0; i < md_len; i++)
        printf("%02x", md[i]);
    printf("\n");

    static const char text[] = "Kiln Kiln Kiln Kiln Kiln Kiln Kiln Kiln Kiln Kiln Kiln";
    unsigned char packed[256], unpacked[256];
    uLongf packed_len = sizeof packed, unpacked_len = sizeof unpacked;
    if (compress(packed, &packed_len, (const Bytef *)text, sizeof text) != Z_OK ||
        uncompress(unpacked, &unpacked_len, packed, packed_len) != Z_OK ||
        unpacked_len != sizeof text || memcmp(unpacked, text, sizeof text) != 0)
        return 2;
    printf("zlib: %s round trip ok\n", zlibVersion());

    sqlite3 *db;
    char answer[32] = "";
    if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
        sqlite3_exec(db, "SELECT 6 * 7", on_row, answer, NULL) != SQLITE_OK)
        return 3;
    sqlite3_close(db);
    printf("sqlite: %s select %s\n", sqlite3_libversion(), answer);

    int err;
    PCRE2_SIZE err_at;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR) "\\d{4}-\\d{2}-\\d{2}", PCRE2_ZERO_TERMINATED, 0,
                                   &err, &err_at, NULL);
    pcre2_match_data *m = re ? pcre2_match_data_create_from_pattern(re, NULL) : NULL;
    const char *subject = "due 2024-06-01 at noon";
    if (!m || pcre2_match(re, (PCRE2_SPTR)subject, strlen(subject), 0, 0, m, NULL) < 1)
        return 4;
    PCRE2_SIZE *at = pcre2_get_ovector_pointer(m);
    printf("pcre2: matched %.*s\n", (int)(at[1] - at[0]), subject + at[0]);
    pcre2_match_data_free(m);
    pcre2_code_free(re);

    struct event_base *base = event_base_new();
    struct timeval ten_ms = {0, 10000};
    struct event *timer = base ? evtimer_new(base, on_timer, NULL) : NULL;
    if (!timer || evtimer_add(timer, &ten_ms) != 0 || event_base_dispatch(base) < 0 ||
        !fired)
        return 5;
    printf("libevent: %s timer fired\n", event_get_version());
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    SSL *ssl = ctx ? SSL_new(ctx) : NULL;
    struct bufferevent *bev =
        ssl ? bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                             BEV_OPT_CLOSE_ON_FREE)
            : NULL;
    if (!bev || bufferevent_openssl_get_ssl(bev) != ssl)
        return 6;
    bufferevent_free(bev);
    SSL_CTX_free(ctx);
    printf("libevent_openssl: bufferevent over an SSL object ok\n");
    event_free(timer);
    event_base_free(base);
    return 0;
}
