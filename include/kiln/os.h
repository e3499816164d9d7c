/*
 * kiln/os.h: the program's side of a Kiln virtual machine, and its event API.
 *
 * A Kiln image runs one program. It starts in one of two ways:
 *
 *  - The program defines main(): it runs with the arguments from the kernel command line,
 *    like on Linux, and its return value (or exit()'s argument) becomes the VM's exit status.
 *    The event API below is then not driven (no loop runs); os_shutdown() exits at once.
 *
 *  - The program defines OS_start() instead: Kiln's default main() calls it, then runs the
 *    event loop until os_shutdown() is called, and ends the VM with the status given there.
 *    Like Node.js, the loop also ends (with status 0) as soon as nothing is pending: no
 *    timer, socket, server, connection or os_hold() is active and no os_post() callback
 *    waits to run.
 *
 * A program with neither main() nor OS_start() fails to link with an undefined reference to
 * OS_start.
 *
 * The same library runs natively on Linux (a host build made with `kiln link --host`): it is
 * built only on POSIX calls (epoll, timerfd, eventfd, non-blocking BSD sockets).
 *
 * CONTEXT RULES (hold for every callback in this header):
 *  - Callbacks run only from the event loop, on the thread that called OS_start(), one at a
 *    time: never concurrently with OS_start() or with each other, never nested inside another
 *    callback, and never from inside a call of this API (a function that detects an error
 *    early reports it through its return value; a failure found later is reported by a
 *    callback that runs from the loop afterwards).
 *  - Callbacks must not block (no sleeping, no blocking I/O): the loop runs nothing else
 *    meanwhile. The loop itself waits in epoll_wait, which halts the CPU in a Kiln guest.
 *  - Every function below that takes a handle must be called on the loop's thread (from
 *    OS_start() or a callback), except those marked "thread-safe": os_post(), os_hold(),
 *    os_release(), os_shutdown(), os_now_ns() and os_now_ms(). os_signal() too must be
 *    called on the loop's thread.
 *
 * ERRORS: functions return 0 (or a count) on success and a negative errno value on failure
 * (for example -EINVAL, -EADDRINUSE, -ENOMEM); they never set errno for the caller. Failures
 * found later arrive through a callback with a negative errno value.
 *
 * ADDRESSES: every `host` parameter is a numeric IPv4 ("127.0.0.1", "0.0.0.0") or IPv6
 * ("::1", "::") literal; names are never resolved (that would block). An IPv6 socket is
 * IPv6-only (IPV6_V6ONLY is set): to serve both families, listen on "0.0.0.0" and on "::".
 * Peer addresses are passed as `const struct sockaddr *` (sockaddr_in or sockaddr_in6) with
 * their length; os_addr_format() turns one into text.
 */
#ifndef KILN_OS_H
#define KILN_OS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The program's entry point when it defines no main(); the application provides it.
 *
 * Context: called once, on the main thread, after static constructors ran and before the
 * event loop starts; argc/argv are not passed (os_args() returns them; environment
 * variables from the kernel command line are there, through getenv()).
 * It may do anything a C or C++ program may do on Linux: allocate, print, start threads,
 * open sockets, call exit(). It should set up its event sources and return; the event loop
 * then takes over. An exception escaping it ends the VM through std::terminate (status 134).
 */
void OS_start(void);

/*
 * The program's arguments, for OS_start() programs (which get none passed): returns the argv
 * that Kiln's default main() received (from the kernel command line in a Kiln guest, from
 * exec on Linux; NULL-terminated, argv[0] the program's name) and stores argc in *argc when
 * `argc` is not NULL. The strings belong to the C runtime and live until the program ends;
 * they may be modified like main()'s. In a program with its own main() (which has them
 * already) it returns NULL and stores 0. Context: any thread. It cannot fail.
 */
char **os_args(int *argc);

/*
 * Ends the program with `status` (0..255, taken modulo 256 like exit()). Thread-safe.
 *
 * From OS_start() or an event callback: returns to the caller; the event loop stops as soon
 * as the current callback (or OS_start) returns — callbacks still queued do not run — then
 * main() returns `status`, so atexit handlers and static destructors run before the VM
 * exits. A later call replaces the status. From another thread: the loop wakes and stops
 * after the callback it is running, if any.
 * In a program that defines its own main() there is no event loop: os_shutdown() then calls
 * exit(status) and does not return.
 * It cannot fail.
 */
void os_shutdown(int status);

/* ---------------------------------------------------------------------------------------- */
/* Time                                                                                     */

/* The monotonic clock (CLOCK_MONOTONIC) in nanoseconds / milliseconds. Thread-safe. */
uint64_t os_now_ns(void);
uint64_t os_now_ms(void);

/* ---------------------------------------------------------------------------------------- */
/* Keeping the loop alive, and handing work to it from other threads                       */

/*
 * os_hold() counts as one pending event source until the matching os_release(), so the loop
 * keeps running (waiting) while, say, worker threads prepare results they will os_post().
 * Thread-safe. os_release() wakes the loop so that it can end if nothing else is pending.
 */
void os_hold(void);
void os_release(void);

/*
 * Runs `callback(arg)` on the loop's thread, from the loop, after every callback queued by
 * earlier os_post() calls of the same thread (FIFO per posting thread). Thread-safe: any
 * thread may call it, including the loop's own (the callback then runs later, never inside
 * os_post). A queued callback counts as pending, so the loop does not end before it ran
 * (unless os_shutdown() stops the loop first: then it never runs). `arg` is passed through
 * untouched; its ownership is the caller's business.
 * Returns 0, -ENOMEM (the callback will not run), or -EINVAL when no event loop runs (a
 * program with its own main()) or `callback` is NULL.
 */
int os_post(void (*callback)(void *arg), void *arg);

/* ---------------------------------------------------------------------------------------- */
/* Signals                                                                                  */

/*
 * Called from the loop each time `sig` arrives (a SIGTERM from a supervisor, a SIGHUP asking
 * for a reload, SIGINT from a terminal): never in signal context, so it may do anything a
 * callback may (print, allocate, close sockets, os_shutdown()). A signal sent again before
 * the callback ran is merged into one call, as the kernel merges standard signals (each
 * real-time signal gets its own call). Context: the loop (see CONTEXT RULES).
 */
typedef void (*os_signal_cb)(int sig, void *arg);

/*
 * Watches `sig`: from now on it no longer interrupts the program or applies its default
 * action; `callback(sig, arg)` runs from the loop instead. The loop's thread blocks `sig`
 * and reads it from a signalfd (threads started afterwards inherit the block; a thread
 * started earlier that does not block `sig` could still take it with its disposition, so
 * call os_signal() before starting threads, or block `sig` in them). Calling it again for the
 * same signal replaces the callback; a NULL `callback` stops watching (`sig` is unblocked:
 * its disposition applies again, to one already pending too). A watch does not keep the loop
 * alive, as process.on('SIGTERM') does not in Node.js.
 * In a Kiln guest the signals `kiln run` forwards arrive here too: SIGINT, SIGTERM, SIGHUP,
 * SIGQUIT, SIGUSR1, SIGUSR2 sent to `kiln run`, and SIGTERM from the ACPI power button.
 * Returns 0, or -EINVAL: `sig` is not a signal a program can watch (SIGKILL, SIGSTOP, the
 * fault signals SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP and SIGSYS, and 32-34, which musl
 * keeps), or no event loop runs (a program with its own main()); or the errno of
 * signalfd/epoll.
 */
int os_signal(int sig, os_signal_cb callback, void *arg);

/* ---------------------------------------------------------------------------------------- */
/* Timers                                                                                   */

typedef struct os_timer os_timer;

/*
 * Called when the timer expires. For a one-shot timer the handle is released when the
 * callback returns (do not use it afterwards); a repeating timer keeps running until
 * os_timer_cancel(). Context: from the loop (see CONTEXT RULES).
 */
typedef void (*os_timer_cb)(os_timer *timer, void *arg);

/*
 * Starts a timer that first fires `delay_ms` milliseconds from now (0: on the next loop
 * iteration, never inside this call) and then, if `repeat_ms` > 0, every `repeat_ms`
 * milliseconds. Deadlines are kept in nanoseconds on the monotonic clock: a timer never fires
 * early; timers due at the same moment fire in the order they were started; a repeating
 * timer that fell behind skips the periods it missed instead of firing in a burst. A timer
 * started by a callback of the same loop iteration never fires in that iteration.
 * If `timer` is not NULL, *timer receives the handle (needed to cancel). An active timer
 * keeps the loop alive.
 * Returns 0, -EINVAL (`callback` is NULL), -ENOMEM, or the errno of timerfd_create/epoll.
 */
int os_timer_start(os_timer **timer, uint64_t delay_ms, uint64_t repeat_ms,
                   os_timer_cb callback, void *arg);

/*
 * Stops the timer and releases its handle: its callback will not run again. Allowed inside
 * the timer's own callback (the handle is released when that callback returns) and on
 * another timer that is due in the same iteration (it then does not fire). `timer` must be a
 * live handle (not a one-shot timer whose callback already returned).
 */
void os_timer_cancel(os_timer *timer);

/* ---------------------------------------------------------------------------------------- */
/* Addresses and the network                                                                */

/*
 * Writes `addr` as text into `buf` (`size` bytes, NUL-terminated, cut if too small):
 * "1.2.3.4:80" or "[::1]:80". Returns the length it needed (without the NUL) or -EAFNOSUPPORT.
 */
int os_addr_format(const struct sockaddr *addr, char *buf, size_t size);

/* The port of a sockaddr_in / sockaddr_in6 in host byte order (0 for other families). */
uint16_t os_addr_port(const struct sockaddr *addr);

/*
 * Calls `callback(arg)` once, from the loop, when the network interface has its addresses.
 * On Linux (a host build) that is at once (on the next loop iteration); in a Kiln guest also,
 * for now (the runtime will signal DHCP/SLAAC completion later; the contract stays).
 * A pending network-ready callback keeps the loop alive.
 * Returns 0, -EINVAL (`callback` is NULL) or -ENOMEM.
 */
int os_on_network_ready(void (*callback)(void *arg), void *arg);

/* One address of one interface, as os_net_addresses() reports it. */
struct os_net_address {
	char interface[16];            /* the interface's name, NUL-terminated ("lo", "eth0") */
	struct sockaddr_storage addr;  /* sockaddr_in or sockaddr_in6 */
	unsigned prefix_len;           /* the netmask's length in bits */
};

/*
 * Fills `out[0..max)` with the IPv4 and IPv6 addresses of the network interfaces (loopback
 * included) and returns how many there are (which may exceed `max`: only `max` are written),
 * or a negative errno (for example -ENOSYS where the platform cannot list them).
 * The caller owns `out`. Context: any thread.
 */
int os_net_addresses(struct os_net_address *out, size_t max);

/* ---------------------------------------------------------------------------------------- */
/* UDP                                                                                      */

typedef struct os_udp os_udp;

/*
 * Called for each datagram received. `data` (`len` bytes, possibly 0) and `from` (the peer's
 * address, `fromlen` bytes) belong to the library and are valid only until the callback
 * returns: copy what you keep. Datagrams longer than 65535 bytes are cut. Context: the loop.
 * The callback may send, and may close this socket (no further datagrams are delivered then).
 */
typedef void (*os_udp_cb)(os_udp *udp, const void *data, size_t len,
                          const struct sockaddr *from, socklen_t fromlen, void *arg);

/*
 * Opens a UDP socket bound to `host`:`port` (port 0: any free port, see os_udp_address) and
 * calls `on_datagram` for each datagram that arrives. An open socket keeps the loop alive.
 * Returns 0 and *udp, or -EINVAL (not a numeric address, NULL argument), -EADDRINUSE,
 * -EACCES, -ENOMEM, or another errno of socket/bind.
 */
int os_udp_bind(os_udp **udp, const char *host, uint16_t port, os_udp_cb on_datagram, void *arg);

/*
 * Sends one datagram of `len` bytes to `to` (`tolen` bytes; same family as the socket). The
 * library copies nothing and keeps no reference: `data` is the caller's after the call.
 * UDP has no send queue here: returns 0 when the datagram was handed to the network stack,
 * -EAGAIN when its buffer is full (the datagram is dropped), or another negative errno
 * (-EMSGSIZE, -ENETUNREACH, -EAFNOSUPPORT, ...).
 */
int os_udp_send(os_udp *udp, const void *data, size_t len, const struct sockaddr *to,
                socklen_t tolen);

/* Writes the socket's local address into *addr (for the port chosen for port 0); 0 or -errno. */
int os_udp_address(os_udp *udp, struct sockaddr_storage *addr);

/* Closes the socket and releases the handle at once; no callback runs for it afterwards. */
void os_udp_close(os_udp *udp);

/* ---------------------------------------------------------------------------------------- */
/* TCP                                                                                      */

typedef struct os_tcp os_tcp;               /* one connection */
typedef struct os_tcp_server os_tcp_server; /* one listening socket */

/*
 * A connection's callbacks; every member may be NULL. Context: the loop, always.
 *
 *  on_data(conn, data, len, arg): `len` bytes arrived. `data` belongs to the library and is
 *      valid until the callback returns. `len` == 0 (data NULL) means the peer finished
 *      sending (end of stream); the library then ends its own side too (as os_tcp_end():
 *      buffered data is still sent, then FIN) and the connection closes once that is done.
 *      Without on_data, received bytes are discarded.
 *  on_drain(conn, arg): the write buffer emptied after os_tcp_write() reported that it was
 *      above the high-water mark (returned 0): write more now.
 *  on_error(conn, err, arg): the connection failed (`err` is a negative errno such as
 *      -ECONNRESET, -EPIPE, -ETIMEDOUT); on_close follows. Not called for an abortive
 *      os_tcp_close() or for a failed connect (the connect callback gets that error).
 *  on_close(conn, arg): the connection is closed: always the last callback of every
 *      connection, exactly once (also after os_tcp_close()). The handle is released when it
 *      returns.
 */
struct os_tcp_callbacks {
	void (*on_data)(os_tcp *conn, const void *data, size_t len, void *arg);
	void (*on_drain)(os_tcp *conn, void *arg);
	void (*on_error)(os_tcp *conn, int err, void *arg);
	void (*on_close)(os_tcp *conn, void *arg);
};

/*
 * Installs `callbacks` (copied; NULL clears them all) and `arg` for `conn`. Call it from the
 * on_connection or connect callback (or right after os_tcp_connect); data that arrives
 * before is not lost, because reading starts only after the callback that delivered the
 * connection returned.
 */
void os_tcp_set_callbacks(os_tcp *conn, const struct os_tcp_callbacks *callbacks, void *arg);

/*
 * Called for each accepted connection. The handle is new and has no callbacks yet: install
 * them with os_tcp_set_callbacks() here. Context: the loop.
 */
typedef void (*os_tcp_connection_cb)(os_tcp_server *server, os_tcp *conn, void *arg);

/*
 * Listens on `host`:`port` (port 0: any free port, see os_tcp_server_address) with the given
 * `backlog` (<= 0: SOMAXCONN) and calls `on_connection` for every accepted connection. An
 * open server keeps the loop alive. When the process runs out of descriptors or memory, the
 * server stops accepting until one of its connections closes.
 * Returns 0 and *server, or -EINVAL (not a numeric address, NULL argument), -EADDRINUSE,
 * -EACCES, -ENOMEM or another errno of socket/bind/listen.
 */
int os_tcp_listen(os_tcp_server **server, const char *host, uint16_t port, int backlog,
                  os_tcp_connection_cb on_connection, void *arg);

/* Writes the server's local address into *addr; 0 or -errno. */
int os_tcp_server_address(os_tcp_server *server, struct sockaddr_storage *addr);

/*
 * Stops listening and releases the handle at once. Connections already accepted stay open.
 */
void os_tcp_server_close(os_tcp_server *server);

/*
 * Called once when a connection started by os_tcp_connect() is established (`status` 0) or
 * failed (`status` a negative errno: -ECONNREFUSED, -ETIMEDOUT, -ENETUNREACH, ...). After a
 * failure on_close follows (if installed) and the handle is released. Context: the loop.
 */
typedef void (*os_tcp_connect_cb)(os_tcp *conn, int status, void *arg);

/*
 * Connects to `host`:`port` without blocking. *conn receives the handle at once: callbacks
 * may be installed and data written (it is buffered and sent once connected) right away.
 * `on_connect` runs later from the loop, never inside this call, even when the outcome is
 * known at once. A connection keeps the loop alive.
 * Returns 0, or -EINVAL (not a numeric address, NULL argument), -ENOMEM, or another errno
 * of socket/connect found at once (the callback then does not run).
 */
int os_tcp_connect(os_tcp **conn, const char *host, uint16_t port, os_tcp_connect_cb on_connect,
                   void *arg);

/* The write buffer's high-water mark: os_tcp_write() returns 0 at or above it. */
#define OS_TCP_HIGH_WATER (64u * 1024u)

/*
 * Queues `len` bytes for sending; the library copies what it cannot send at once, so `data`
 * is the caller's again when the call returns. Everything written before os_tcp_end() is
 * sent, in order, unless the connection fails or is closed with os_tcp_close().
 * Returns 1 while the bytes buffered stay below OS_TCP_HIGH_WATER (keep writing), 0 when
 * they reached it (the data was still accepted; stop and wait for on_drain: that is the
 * backpressure signal), -EPIPE after os_tcp_end() or once the connection is closing, or
 * -ENOMEM (the bytes the socket did not take at once were dropped: the stream is broken,
 * close the connection). A send failure is reported through on_error (and this call then
 * returns -EPIPE).
 */
int os_tcp_write(os_tcp *conn, const void *data, size_t len);

/* The number of bytes written but not yet handed to the network stack. */
size_t os_tcp_buffered(const os_tcp *conn);

/*
 * Graceful close: sends what is buffered, then FIN (shutdown(SHUT_WR)); data from the peer
 * still arrives through on_data until its own end of stream, then the connection closes and
 * on_close runs. Calling it again does nothing.
 */
void os_tcp_end(os_tcp *conn);

/*
 * Abortive close: discards buffered data, closes the socket at once and delivers no more
 * data; on_close runs later from the loop (never inside this call), then the handle is
 * released. Allowed inside any callback of the connection, including on_data. Calling it
 * again, or on a connection that is already closing, does nothing.
 */
void os_tcp_close(os_tcp *conn);

/* Stops / resumes reading from the peer (flow control for a slow consumer). */
void os_tcp_pause(os_tcp *conn);
void os_tcp_resume(os_tcp *conn);

/* Writes the peer's / the local address into *addr; 0 or -errno (-ENOTCONN before connect). */
int os_tcp_peer_address(os_tcp *conn, struct sockaddr_storage *addr);
int os_tcp_local_address(os_tcp *conn, struct sockaddr_storage *addr);

#ifdef __cplusplus
}
#endif

#endif /* KILN_OS_H */
