// Front end B: the kiln/os.h event API (OS_start + callbacks, issue 4), the default on Kiln.
// Same service as posix_main.cpp: UDP and TCP (RFC 7766: 2-byte length framing, any number
// of queries per connection, pipelining) on IPv4 and IPv6, idle connections closed after
// kIdleSeconds by a timer, backpressure through os_tcp_write's return value and on_drain,
// counters printed at exit, SIGTERM/SIGINT a graceful stop and SIGHUP a zone reload (as
// loop callbacks: os_signal). The command line comes from os_args() and is parsed by
// common.cpp, like the POSIX front end's.
//
// It uses the C API directly: per datagram nothing is allocated or copied beyond the
// responder's own buffer, and each connection is one small struct owned by its callbacks.
#include "common.hpp"
#include "dns/responder.hpp"

#include <kiln/os.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

constexpr std::uint64_t kIdleSeconds = 10; // RFC 7766 §6.2.3: close idle connections
constexpr std::size_t kMaxConnections = 512;

std::uint8_t g_out[dns::Responder::kMaxMessage + 2];

frontend::Options g_options;
dns::ZoneSet g_zones;
std::unique_ptr<dns::Responder> g_responder;

struct Connection {
    os_tcp* tcp = nullptr;
    std::vector<std::uint8_t> in; // received, not yet answered
    std::uint64_t last_active_ms = 0;
    bool blocked = false; // write buffer at the high-water mark: wait for on_drain
    Connection* prev = nullptr;
    Connection* next = nullptr;
};

// Every open connection, for the idle sweep.
Connection* g_connections = nullptr;
std::size_t g_open = 0;
// The idle sweep runs only while connections are open, so an idle server's CPU stays halted.
os_timer* g_sweep = nullptr;

void sweep(os_timer*, void*);

void on_datagram(os_udp* udp, const void* data, std::size_t len, const sockaddr* from,
                 socklen_t fromlen, void*) {
    std::size_t out = g_responder->respond(static_cast<const std::uint8_t*>(data), len,
                                           dns::Transport::udp, g_out);
    if (out > 0) {
        // -EAGAIN (stack buffer full) drops the answer, as a full socket buffer would.
        os_udp_send(udp, g_out, out, from, fromlen);
    }
}

// Answers every complete message in c.in, in order, until the write buffer is full.
void answer(Connection& c) {
    std::size_t at = 0;
    while (!c.blocked && c.in.size() - at >= 2) {
        std::size_t len = std::size_t{c.in[at]} << 8 | c.in[at + 1];
        if (c.in.size() - at - 2 < len) {
            break;
        }
        std::size_t rlen = g_responder->respond(c.in.data() + at + 2, len, dns::Transport::tcp,
                                                g_out + 2);
        at += 2 + len;
        if (rlen == 0) {
            continue;
        }
        g_out[0] = static_cast<std::uint8_t>(rlen >> 8);
        g_out[1] = static_cast<std::uint8_t>(rlen);
        int rc = os_tcp_write(c.tcp, g_out, rlen + 2);
        if (rc < 0) {
            // -EPIPE: closing already; -ENOMEM: the stream is broken. Either way it ends.
            c.in.clear();
            os_tcp_close(c.tcp);
            return;
        }
        if (rc == 0) {
            // Backpressure: a client that does not read its answers cannot make the server
            // buffer without bound. Stop reading until on_drain.
            c.blocked = true;
            os_tcp_pause(c.tcp);
        }
    }
    c.in.erase(c.in.begin(), c.in.begin() + static_cast<std::ptrdiff_t>(at));
}

void on_data(os_tcp*, const void* data, std::size_t len, void* arg) {
    auto& c = *static_cast<Connection*>(arg);
    if (len == 0) {
        return; // end of stream: the library sends what is buffered, then FIN, then closes
    }
    c.last_active_ms = os_now_ms();
    const auto* bytes = static_cast<const std::uint8_t*>(data);
    c.in.insert(c.in.end(), bytes, bytes + len);
    answer(c);
}

void on_drain(os_tcp*, void* arg) {
    auto& c = *static_cast<Connection*>(arg);
    c.last_active_ms = os_now_ms();
    c.blocked = false;
    os_tcp_resume(c.tcp);
    answer(c); // queries that arrived before the pause
}

void on_close(os_tcp*, void* arg) {
    auto* c = static_cast<Connection*>(arg);
    if (c->prev) {
        c->prev->next = c->next;
    } else {
        g_connections = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
    g_open--;
    delete c;
    if (g_open == 0 && g_sweep != nullptr) {
        os_timer_cancel(g_sweep);
        g_sweep = nullptr;
    }
}

const os_tcp_callbacks kConnectionCallbacks = {on_data, on_drain, nullptr, on_close};

void on_connection(os_tcp_server*, os_tcp* tcp, void*) {
    if (g_open >= kMaxConnections) {
        os_tcp_close(tcp); // full: the client retries or falls back
        return;
    }
    auto* c = new (std::nothrow) Connection;
    if (c == nullptr) {
        os_tcp_close(tcp);
        return;
    }
    if (g_sweep == nullptr && os_timer_start(&g_sweep, 1000, 1000, sweep, nullptr) < 0) {
        g_sweep = nullptr;
        delete c;
        os_tcp_close(tcp); // no idle timeout without the timer: refuse rather than leak
        return;
    }
    c->tcp = tcp;
    c->last_active_ms = os_now_ms();
    c->next = g_connections;
    if (g_connections) {
        g_connections->prev = c;
    }
    g_connections = c;
    g_open++;
    os_tcp_set_callbacks(tcp, &kConnectionCallbacks, c);
}

// Closes connections idle for longer than kIdleSeconds (on_close unlinks them later).
void sweep(os_timer*, void*) {
    std::uint64_t now = os_now_ms();
    for (Connection* c = g_connections; c != nullptr; c = c->next) {
        if (now - c->last_active_ms > kIdleSeconds * 1000) {
            os_tcp_close(c->tcp);
        }
    }
}

// Opens the UDP socket and the TCP listener for one address: 0, or the negative errno of
// the one that failed (after printing it unless `quiet`; nothing stays open then).
int open_address(const std::string& address, bool quiet = false) {
    const char* host = address.c_str();
    const auto port = static_cast<std::uint16_t>(g_options.port);
    os_udp* udp = nullptr;
    int rc = os_udp_bind(&udp, host, port, on_datagram, nullptr);
    if (rc < 0) {
        if (!quiet) {
            std::fprintf(stderr, "dns-server: UDP on %s port %u: %s\n", host, g_options.port,
                         std::strerror(-rc));
        }
        return rc;
    }
    os_tcp_server* server = nullptr;
    rc = os_tcp_listen(&server, host, port, 128, on_connection, nullptr);
    if (rc < 0) {
        if (!quiet) {
            std::fprintf(stderr, "dns-server: TCP on %s port %u: %s\n", host, g_options.port,
                         std::strerror(-rc));
        }
        os_udp_close(udp);
        return rc;
    }
    return 0;
}

// The default: every IPv6 and IPv4 address. os.h makes IPv6 sockets IPv6-only, so IPv4 gets
// sockets of its own, unless the system's "::" socket takes IPv4 as well (then "0.0.0.0" is
// EADDRINUSE and already served).
bool open_default_addresses() {
    bool v6 = open_address("::", true) == 0;
    int rc = open_address("0.0.0.0", v6);
    if (rc == 0 || (v6 && rc == -EADDRINUSE)) {
        return true;
    }
    if (v6) {
        // Some other failure: say what it was.
        std::fprintf(stderr, "dns-server: port %u on 0.0.0.0: %s\n", g_options.port,
                     std::strerror(-rc));
    }
    return false;
}

void print_counters_at_exit() {
    if (g_responder) {
        frontend::print_stopped(g_responder->stats_line());
    }
}

// SIGTERM (a supervisor, `kiln run` stopping, the ACPI power button) and SIGINT: a graceful
// stop from the loop; the counters are printed at exit.
void on_stop(int, void*) { os_shutdown(0); }

// SIGHUP: the zone files again; a bad one leaves the current zones serving.
void on_reload(int, void*) { frontend::reload_zones(g_options, g_zones); }

int start() {
    int argc = 0;
    char** argv = os_args(&argc);
    char* no_arguments[] = {const_cast<char*>("dns-server"), nullptr};
    if (argv == nullptr || argc == 0) {
        argv = no_arguments;
        argc = 1;
    }
    int status = frontend::parse_options(argc, argv, g_options);
    if (status >= 0) {
        return status;
    }
    std::vector<dns::TsigKey> keys;
    if (!frontend::load_zones(g_options, g_zones) || !frontend::load_keys(g_options, keys)) {
        return 1;
    }
    if (g_options.check || !g_options.quiet) {
        frontend::print_zones(g_zones);
    }
    if (g_options.check) {
        return 0;
    }
    if (g_options.addresses.empty()) {
        if (!open_default_addresses()) {
            return 1;
        }
    } else {
        for (const std::string& address : g_options.addresses) {
            if (open_address(address) < 0) {
                return 1;
            }
        }
    }
    g_responder = std::make_unique<dns::Responder>(g_zones, g_options.id);
    g_responder->set_tsig_keys(std::move(keys));
    std::atexit(print_counters_at_exit);
    os_signal(SIGTERM, on_stop, nullptr);
    os_signal(SIGINT, on_stop, nullptr);
    os_signal(SIGHUP, on_reload, nullptr);
    if (!g_options.quiet) {
        frontend::print_listening(g_options, g_zones);
    }
    return -1;
}

} // namespace

extern "C" void OS_start() {
    int status = start();
    if (status >= 0) {
        os_shutdown(status); // --help, --check, a usage or zone error: end with the status
    }
}
