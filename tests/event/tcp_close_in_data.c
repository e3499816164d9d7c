/*
 * tcp_close_in_data.c: closing a connection inside its own on_data, on both sides, over
 * IPv4 (127.0.0.1) and IPv6 (::1). Four scenarios run side by side, each with its own server:
 *  - "server closes": the client sends "hello"; the server's on_data closes the connection
 *    at once. A write after that (still inside on_data) fails with -EPIPE; on_close runs once,
 *    after on_data returned; no on_error. The client sees the end of stream, then on_close.
 *  - "client closes": the server greets; the client's on_data closes. The client's on_close
 *    runs once, not nested, no on_error; the server sees the end of stream, then on_close.
 * When all four have closed both ends, the servers close and the loop ends (status 0).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <kiln/os.h>

#include "check.h"

struct side {
	int data_calls, eof, errors, closes;
	bool in_data, close_nested;
	int write_after_close;
	char got[32];
};

struct scenario {
	const char *name;
	const char *host;
	bool server_closes;
	os_tcp_server *server;
	struct side srv, cli;
};

static struct scenario scenarios[] = {
	{"server closes, IPv4", "127.0.0.1", true},
	{"server closes, IPv6", "::1", true},
	{"client closes, IPv4", "127.0.0.1", false},
	{"client closes, IPv6", "::1", false},
};
enum { N = sizeof scenarios / sizeof scenarios[0] };
static int closed_ends;

static void report(void)
{
	for (int i = 0; i < N; i++) {
		struct scenario *s = &scenarios[i];
		struct side *closer = s->server_closes ? &s->srv : &s->cli;
		struct side *other = s->server_closes ? &s->cli : &s->srv;
		char name[96];
		snprintf(name, sizeof name, "%s: closer got the data once", s->name);
		CHECK(name, closer->data_calls == 1 && strcmp(closer->got, s->server_closes ?
		      "hello" : "welcome") == 0, "%d calls, %s", closer->data_calls, closer->got);
		snprintf(name, sizeof name, "%s: write after close is -EPIPE", s->name);
		CHECK(name, closer->write_after_close == -EPIPE, "%d", closer->write_after_close);
		snprintf(name, sizeof name, "%s: closer's on_close once, not nested, no error",
		         s->name);
		CHECK(name, closer->closes == 1 && !closer->close_nested && closer->errors == 0,
		      "%d closes, nested %d, %d errors", closer->closes, closer->close_nested,
		      closer->errors);
		snprintf(name, sizeof name, "%s: the other end saw the end of stream, then on_close",
		         s->name);
		CHECK(name, other->eof == 1 && other->closes == 1 && other->errors == 0,
		      "eof %d, %d closes, %d errors", other->eof, other->closes, other->errors);
		os_tcp_server_close(s->server);
	}
	if (check_status())
		os_shutdown(1);
}

static void on_data(os_tcp *conn, const void *data, size_t len, void *arg)
{
	struct side *side = arg;
	struct scenario *s = NULL;
	for (int i = 0; i < N; i++)
		if (side == &scenarios[i].srv || side == &scenarios[i].cli)
			s = &scenarios[i];
	bool closer = s->server_closes ? side == &s->srv : side == &s->cli;
	if (len == 0) {
		side->eof++;
		return;
	}
	side->data_calls++;
	side->in_data = true;
	snprintf(side->got, sizeof side->got, "%.*s", (int)len, (const char *)data);
	if (closer) {
		os_tcp_close(conn);
		side->write_after_close = os_tcp_write(conn, "late", 4);
		os_tcp_close(conn); /* again: nothing happens */
	}
	side->in_data = false;
}

static void on_error(os_tcp *conn, int err, void *arg)
{
	(void)conn;
	(void)err;
	struct side *side = arg;
	side->errors++;
}

static void on_close(os_tcp *conn, void *arg)
{
	(void)conn;
	struct side *side = arg;
	side->closes++;
	side->close_nested = side->in_data;
	if (++closed_ends == 2 * N)
		report();
}

static const struct os_tcp_callbacks callbacks = {on_data, NULL, on_error, on_close};

static void on_connection(os_tcp_server *server, os_tcp *conn, void *arg)
{
	(void)server;
	struct scenario *s = arg;
	os_tcp_set_callbacks(conn, &callbacks, &s->srv);
	if (!s->server_closes)
		os_tcp_write(conn, "welcome", 7);
}

static void on_connect(os_tcp *conn, int status, void *arg)
{
	struct scenario *s = arg;
	if (status < 0) {
		printf("%s: connect: FAIL (%d)\n", s->name, status);
		os_shutdown(1);
		return;
	}
	if (s->server_closes)
		os_tcp_write(conn, "hello", 5);
}

void OS_start(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < N; i++) {
		struct scenario *s = &scenarios[i];
		struct sockaddr_storage addr;
		os_tcp *conn;
		int rc = os_tcp_listen(&s->server, s->host, 0, 0, on_connection, s);
		if (rc == 0)
			rc = os_tcp_server_address(s->server, &addr);
		if (rc == 0)
			rc = os_tcp_connect(&conn, s->host, os_addr_port((struct sockaddr *)&addr),
			                    on_connect, s);
		if (rc < 0) {
			printf("%s: setup: FAIL (%d)\n", s->name, rc);
			os_shutdown(1);
			return;
		}
		os_tcp_set_callbacks(conn, &callbacks, &s->cli);
	}
	printf("started %d scenarios\n", N);
}
