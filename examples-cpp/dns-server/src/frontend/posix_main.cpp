// Front end A: POSIX sockets and epoll, single-threaded and non-blocking. UDP and TCP
// (RFC 7766: 2-byte length framing, any number of queries per connection, pipelining) on
// IPv4 and IPv6; SIGTERM/SIGINT stop it (counters printed), SIGHUP reloads the zone files.
// Builds unchanged for Linux hosts (glibc or musl) and as a Kiln image.
#include "common.hpp"
#include "dns/responder.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <memory>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace {

constexpr int kIdleSeconds = 10;          // RFC 7766 §6.2.3: close idle connections
constexpr std::size_t kMaxConnections = 512;
constexpr int kUdpBatch = 64;             // datagrams per wake-up before looking elsewhere

volatile std::sig_atomic_t g_stop = 0;
volatile std::sig_atomic_t g_reload = 0;

// SIGINT/SIGTERM stop, SIGHUP reloads the zones; the loop acts on the flags (the handlers
// only set them: nothing else is safe in a handler), woken from epoll_wait by EINTR.
void on_signal(int sig) {
    if (sig == SIGHUP) {
        g_reload = 1;
    } else {
        g_stop = 1;
    }
}

std::uint8_t g_in[65536];
std::uint8_t g_out[dns::Responder::kMaxMessage + 2];

struct Listener {
    int fd;
    bool tcp;
};

struct Connection {
    int fd = -1;
    std::vector<std::uint8_t> in;  // received, not yet answered
    std::vector<std::uint8_t> out; // answers not yet written
    std::size_t out_off = 0;
    std::time_t last_active = 0;
    bool eof = false;
    bool want_write = false;
};

std::time_t now_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

void report(const char* what, const char* where) {
    std::fprintf(stderr, "dns-server: %s(%s): %s\n", what, where, std::strerror(errno));
}

// Opens the UDP socket and the TCP listener for one address; false if either fails.
bool open_address(const std::string& text, unsigned port, int epfd,
                  std::vector<Listener>& listeners) {
    sockaddr_storage ss{};
    socklen_t sslen;
    int family;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
        family = AF_INET;
        v4->sin_family = AF_INET;
        v4->sin_port = htons(static_cast<std::uint16_t>(port));
        sslen = sizeof *v4;
    } else if (inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
        family = AF_INET6;
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(static_cast<std::uint16_t>(port));
        sslen = sizeof *v6;
    } else {
        std::fprintf(stderr, "dns-server: '%s' is not an IPv4 or IPv6 address\n", text.c_str());
        return false;
    }
    const char* where = text.c_str();
    for (int kind : {SOCK_DGRAM, SOCK_STREAM}) {
        int fd = socket(family, kind | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            report(kind == SOCK_DGRAM ? "socket(SOCK_DGRAM)" : "socket(SOCK_STREAM)", where);
            return false;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (family == AF_INET6) {
            // "::" serves IPv4 too (dual-stack); a specific IPv6 address only itself.
            int v6only = text == "::" ? 0 : 1;
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
        }
        if (bind(fd, reinterpret_cast<sockaddr*>(&ss), sslen) < 0) {
            report("bind", where);
            close(fd);
            return false;
        }
        if (kind == SOCK_STREAM && listen(fd, 128) < 0) {
            report("listen", where);
            close(fd);
            return false;
        }
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = fd;
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            report("epoll_ctl", where);
            close(fd);
            return false;
        }
        listeners.push_back(Listener{fd, kind == SOCK_STREAM});
    }
    return true;
}

class Server {
public:
    Server(dns::Responder& responder, int epfd) : responder_(responder), epfd_(epfd) {}

    void udp_ready(int fd) {
        for (int i = 0; i < kUdpBatch; i++) {
            sockaddr_storage peer{};
            socklen_t peer_len = sizeof peer;
            ssize_t n = recvfrom(fd, g_in, sizeof g_in, 0, reinterpret_cast<sockaddr*>(&peer),
                                 &peer_len);
            if (n < 0) {
                return; // EAGAIN: drained (other errors: try again at the next wake-up)
            }
            std::size_t len = responder_.respond(g_in, static_cast<std::size_t>(n),
                                                 dns::Transport::udp, g_out);
            if (len > 0) {
                sendto(fd, g_out, len, 0, reinterpret_cast<sockaddr*>(&peer), peer_len);
            }
        }
    }

    void accept_ready(int lfd) {
        for (;;) {
            int fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                return;
            }
            if (open_ >= kMaxConnections) {
                close(fd); // full: the client retries or falls back
                continue;
            }
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            if (static_cast<std::size_t>(fd) >= conns_.size()) {
                conns_.resize(static_cast<std::size_t>(fd) + 1);
            }
            auto c = std::make_unique<Connection>();
            c->fd = fd;
            c->last_active = now_seconds();
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.fd = fd;
            if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) < 0) {
                close(fd);
                continue;
            }
            conns_[static_cast<std::size_t>(fd)] = std::move(c);
            open_++;
        }
    }

    bool is_connection(int fd) const {
        return static_cast<std::size_t>(fd) < conns_.size() &&
               conns_[static_cast<std::size_t>(fd)] != nullptr;
    }

    void connection_ready(int fd, std::uint32_t events) {
        Connection& c = *conns_[static_cast<std::size_t>(fd)];
        c.last_active = now_seconds();
        if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
            if (!c.want_write) {
                read_some(c);
            }
        }
        if (!flush(c) || (c.eof && c.out_off == c.out.size())) {
            drop(fd);
            return;
        }
        update_interest(c);
    }

    // Closes connections idle for longer than kIdleSeconds.
    void sweep() {
        std::time_t now = now_seconds();
        for (std::size_t fd = 0; fd < conns_.size(); fd++) {
            if (conns_[fd] && now - conns_[fd]->last_active > kIdleSeconds) {
                drop(static_cast<int>(fd));
            }
        }
    }

private:
    void read_some(Connection& c) {
        for (;;) {
            ssize_t n = read(c.fd, g_in, sizeof g_in);
            if (n == 0) {
                c.eof = true;
                break;
            }
            if (n < 0) {
                if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                    c.eof = true;
                }
                break;
            }
            c.in.insert(c.in.end(), g_in, g_in + n);
            if (static_cast<std::size_t>(n) < sizeof g_in) {
                break;
            }
        }
        // Answer every complete message (pipelined queries are answered in order).
        std::size_t at = 0;
        while (c.in.size() - at >= 2) {
            std::size_t len = std::size_t{c.in[at]} << 8 | c.in[at + 1];
            if (c.in.size() - at - 2 < len) {
                break;
            }
            std::size_t rlen = responder_.respond(c.in.data() + at + 2, len,
                                                  dns::Transport::tcp, g_out + 2);
            at += 2 + len;
            if (rlen == 0) {
                continue;
            }
            g_out[0] = static_cast<std::uint8_t>(rlen >> 8);
            g_out[1] = static_cast<std::uint8_t>(rlen);
            c.out.insert(c.out.end(), g_out, g_out + rlen + 2);
        }
        c.in.erase(c.in.begin(), c.in.begin() + static_cast<std::ptrdiff_t>(at));
    }

    // Writes what is pending; false if the connection failed.
    bool flush(Connection& c) {
        while (c.out_off < c.out.size()) {
            ssize_t n = write(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    return true;
                }
                if (errno == EINTR) {
                    continue;
                }
                return false;
            }
            c.out_off += static_cast<std::size_t>(n);
        }
        c.out.clear();
        c.out_off = 0;
        return true;
    }

    // While answers wait to be written, stop reading: a client that does not read its
    // answers cannot make the server buffer without bound.
    void update_interest(Connection& c) {
        bool want_write = c.out_off < c.out.size();
        if (want_write == c.want_write) {
            return;
        }
        c.want_write = want_write;
        epoll_event ev{};
        ev.events = want_write ? EPOLLOUT : EPOLLIN;
        ev.data.fd = c.fd;
        epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd, &ev);
    }

    void drop(int fd) {
        epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
        close(fd);
        conns_[static_cast<std::size_t>(fd)].reset();
        open_--;
    }

    dns::Responder& responder_;
    int epfd_;
    std::vector<std::unique_ptr<Connection>> conns_;
    std::size_t open_ = 0;
};

} // namespace

int main(int argc, char** argv) {
    frontend::Options options;
    int status = frontend::parse_options(argc, argv, options);
    if (status >= 0) {
        return status;
    }
    dns::ZoneSet zones;
    std::vector<dns::TsigKey> keys;
    if (!frontend::load_zones(options, zones) || !frontend::load_keys(options, keys)) {
        return 1;
    }
    if (options.check || !options.quiet) {
        frontend::print_zones(zones);
    }
    if (options.check) {
        return 0;
    }

    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) {
        report("epoll_create1", "");
        return 1;
    }
    std::vector<Listener> listeners;
    if (options.addresses.empty()) {
        // Dual-stack if the host has IPv6, else IPv4 only.
        if (!open_address("::", options.port, epfd, listeners)) {
            for (const Listener& l : listeners) {
                close(l.fd);
            }
            listeners.clear();
            std::fprintf(stderr, "dns-server: trying IPv4 only\n");
            if (!open_address("0.0.0.0", options.port, epfd, listeners)) {
                return 1;
            }
        }
    } else {
        for (const std::string& address : options.addresses) {
            if (!open_address(address, options.port, epfd, listeners)) {
                return 1;
            }
        }
    }

    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGHUP, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);

    dns::Responder responder(zones, options.id);
    responder.set_tsig_keys(std::move(keys));
    Server server(responder, epfd);
    if (!options.quiet) {
        frontend::print_listening(options, zones);
    }

    epoll_event events[64];
    std::time_t last_sweep = now_seconds();
    while (!g_stop) {
        if (g_reload) {
            g_reload = 0;
            frontend::reload_zones(options, zones);
        }
        int n = epoll_wait(epfd, events, 64, 1000);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            report("epoll_wait", "");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            bool handled = false;
            for (const Listener& l : listeners) {
                if (l.fd == fd) {
                    if (l.tcp) {
                        server.accept_ready(fd);
                    } else {
                        server.udp_ready(fd);
                    }
                    handled = true;
                    break;
                }
            }
            if (!handled && server.is_connection(fd)) {
                server.connection_ready(fd, events[i].events);
            }
        }
        if (now_seconds() != last_sweep) {
            last_sweep = now_seconds();
            server.sweep();
        }
    }
    frontend::print_stopped(responder.stats_line());
    return 0;
}
