/*
 * tcp_backpressure.c: a fast writer and a slow reader, over IPv4 and IPv6 side by side.
 *
 * Each server sends TOTAL bytes of a fixed pseudo-random stream in CHUNK-byte writes,
 * honouring backpressure: it stops when os_tcp_write returns 0 and goes on in on_drain, then
 * ends the connection. Each client reads slowly: after every PAUSE_EVERY bytes it pauses
 * reading for PAUSE_MS. Checks: the client received exactly TOTAL bytes with the same
 * SHA-256 as sent (both digests are printed: the stream is fixed, so they are too), the
 * writer really met backpressure (on_drain ran), and the write buffer never held more than
 * the high-water mark plus one chunk. Then everything closes and the loop ends (status 0).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <kiln/os.h>

#include "check.h"
#include "sha256.h"

#define TOTAL (16u * 1024 * 1024)
#define CHUNK (16u * 1024)
#define PAUSE_EVERY (512u * 1024)
#define PAUSE_MS 10

struct transfer {
	const char *name;
	const char *host;
	os_tcp_server *server;
	/* sender */
	uint32_t seed;
	size_t sent;
	size_t max_buffered;
	int drains;
	struct sha256 sent_hash;
	/* receiver */
	os_tcp *client;
	size_t received, next_pause;
	int pauses;
	struct sha256 got_hash;
	int errors, closes;
};

static struct transfer transfers[] = {{"IPv4", "127.0.0.1"}, {"IPv6", "::1"}};
enum { N = sizeof transfers / sizeof transfers[0] };
static int closed_ends;

static void report(void)
{
	for (int i = 0; i < N; i++) {
		struct transfer *t = &transfers[i];
		char sent[65], got[65], name[80];
		sha256_hex(&t->sent_hash, sent);
		sha256_hex(&t->got_hash, got);
		printf("%s: sent %zu bytes, sha256 %s\n", t->name, t->sent, sent);
		printf("%s: received %zu bytes, sha256 %s\n", t->name, t->received, got);
		snprintf(name, sizeof name, "%s: everything arrived, equal sha256", t->name);
		CHECK(name, t->received == TOTAL && strcmp(sent, got) == 0, "%zu bytes", t->received);
		snprintf(name, sizeof name, "%s: the writer met backpressure", t->name);
		CHECK(name, t->drains > 0, "no on_drain");
		snprintf(name, sizeof name, "%s: buffer stayed under high-water mark + a chunk",
		         t->name);
		CHECK(name, t->max_buffered < OS_TCP_HIGH_WATER + CHUNK, "%zu bytes",
		      t->max_buffered);
		snprintf(name, sizeof name, "%s: the reader paused", t->name);
		CHECK(name, t->pauses >= (int)(TOTAL / PAUSE_EVERY) - 1, "%d pauses", t->pauses);
		snprintf(name, sizeof name, "%s: no errors, both ends closed", t->name);
		CHECK(name, t->errors == 0 && t->closes == 2, "%d errors, %d closes", t->errors,
		      t->closes);
		printf("info: %s: %d drains, max buffered %zu\n", t->name, t->drains, t->max_buffered);
		os_tcp_server_close(t->server);
	}
	if (check_status())
		os_shutdown(1);
}

static void pump(os_tcp *conn, struct transfer *t)
{
	static unsigned char chunk[CHUNK];
	while (t->sent < TOTAL) {
		for (size_t i = 0; i < CHUNK; i++) {
			t->seed = t->seed * 1664525u + 1013904223u;
			chunk[i] = (unsigned char)(t->seed >> 24);
		}
		sha256_update(&t->sent_hash, chunk, CHUNK);
		t->sent += CHUNK;
		int rc = os_tcp_write(conn, chunk, CHUNK);
		if (os_tcp_buffered(conn) > t->max_buffered)
			t->max_buffered = os_tcp_buffered(conn);
		if (rc < 0) {
			printf("%s: write: FAIL (%d)\n", t->name, rc);
			os_shutdown(1);
			return;
		}
		if (rc == 0)
			return; /* on_drain continues */
	}
	os_tcp_end(conn);
}

static void on_drain(os_tcp *conn, void *arg)
{
	struct transfer *t = arg;
	t->drains++;
	pump(conn, t);
}

static void on_error(os_tcp *conn, int err, void *arg)
{
	(void)conn;
	struct transfer *t = arg;
	printf("%s: error %d\n", t->name, err);
	t->errors++;
}

static void on_close(os_tcp *conn, void *arg)
{
	struct transfer *t = arg;
	if (conn == t->client)
		t->client = NULL;
	t->closes++;
	if (++closed_ends == 2 * N)
		report();
}

static void resume(os_timer *timer, void *arg)
{
	(void)timer;
	struct transfer *t = arg;
	if (t->client)
		os_tcp_resume(t->client);
}

static void on_data(os_tcp *conn, const void *data, size_t len, void *arg)
{
	struct transfer *t = arg;
	if (len == 0)
		return; /* end of stream: the library ends our side, then on_close */
	sha256_update(&t->got_hash, data, len);
	t->received += len;
	if (t->received >= t->next_pause) {
		t->next_pause += PAUSE_EVERY;
		t->pauses++;
		os_tcp_pause(conn);
		os_timer_start(NULL, PAUSE_MS, 0, resume, t);
	}
}

static const struct os_tcp_callbacks server_callbacks = {NULL, on_drain, on_error, on_close};
static const struct os_tcp_callbacks client_callbacks = {on_data, NULL, on_error, on_close};

static void on_connection(os_tcp_server *server, os_tcp *conn, void *arg)
{
	(void)server;
	struct transfer *t = arg;
	os_tcp_set_callbacks(conn, &server_callbacks, t);
	pump(conn, t);
}

void OS_start(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct sha256 check;
	char hex[65];
	sha256_init(&check);
	sha256_update(&check, "abc", 3);
	sha256_hex(&check, hex);
	CHECK("sha256 of abc", strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0, "%s", hex);
	for (int i = 0; i < N; i++) {
		struct transfer *t = &transfers[i];
		struct sockaddr_storage addr;
		t->seed = 42;
		t->next_pause = PAUSE_EVERY;
		sha256_init(&t->sent_hash);
		sha256_init(&t->got_hash);
		int rc = os_tcp_listen(&t->server, t->host, 0, 0, on_connection, t);
		if (rc == 0)
			rc = os_tcp_server_address(t->server, &addr);
		if (rc == 0)
			rc = os_tcp_connect(&t->client, t->host, os_addr_port((struct sockaddr *)&addr),
			                    NULL, NULL);
		if (rc < 0) {
			printf("%s: setup: FAIL (%d)\n", t->name, rc);
			os_shutdown(1);
			return;
		}
		os_tcp_set_callbacks(t->client, &client_callbacks, t);
	}
	printf("sending %u bytes over IPv4 and IPv6 to slow readers\n", TOTAL);
}
