// kiln/os.hpp: the C++ face of kiln/os.h. The contract of each call (buffer ownership,
// callback context, errors) is the C function's: read kiln/os.h first.
//
// The program's entry point stays the C function OS_start(): define it as
//     extern "C" void OS_start() { ... }
// (including this header declares it with C linkage, so a plain definition also works).
//
// RAII: kiln::Timer, kiln::UdpSocket, kiln::TcpServer and kiln::TcpConnection own their
// handle. They are movable and not copyable; destroying one cancels/closes what it owns
// (a TcpConnection closes abortively, as os_tcp_close). So keep them somewhere that lives as
// long as they should work (a global, a member, a container, a shared_ptr captured by the
// object's own callbacks) — a local in OS_start() is closed when OS_start() returns.
// Destroying or moving an object inside one of its own callbacks is allowed.
//
// Callbacks are std::function objects run on the loop's thread (never nested, never inside
// a call of this API). They must not throw: the C loop cannot unwind, so an escaping
// exception ends the program through std::terminate. Setup calls that fail throw
// std::system_error with the errno (listen/bind/connect/timer start). After a connection's
// on_close ran, its callbacks are released (destroyed), so a shared_ptr to the connection
// captured by them no longer keeps it alive.
//
// No iostream: this header pulls in only <functional>, <string>, <string_view>,
// <system_error> and <utility>.
#ifndef KILN_OS_HPP
#define KILN_OS_HPP

#include <kiln/os.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace kiln {

// Ends the program with `status` once the current callback (or OS_start) returns; in a
// program with its own main(), exits at once. Thread-safe. See os_shutdown().
inline void shutdown(int status) noexcept { ::os_shutdown(status); }

// The monotonic clock. Thread-safe.
inline uint64_t now_ns() noexcept { return ::os_now_ns(); }
inline uint64_t now_ms() noexcept { return ::os_now_ms(); }

// Keeps the loop alive between hold() and release() (see os_hold). Thread-safe.
inline void hold() noexcept { ::os_hold(); }
inline void release() noexcept { ::os_release(); }

namespace detail {

[[noreturn]] inline void throw_errno(int negative_errno, const char *what)
{
	throw std::system_error(-negative_errno, std::generic_category(), what);
}

// A heap-held std::function run once by a C callback and then deleted.
using Task = std::function<void()>;
inline void run_task(void *arg) noexcept
{
	auto *task = static_cast<Task *>(arg);
	(*task)();
	delete task;
}

} // namespace detail

// Runs `fn` on the loop's thread, from the loop (see os_post). Thread-safe. Returns 0, or a
// negative errno (-ENOMEM, -EINVAL when no event loop runs): `fn` then never runs.
inline int post(std::function<void()> fn)
{
	auto *task = new detail::Task(std::move(fn));
	int rc = ::os_post(detail::run_task, task);
	if (rc < 0)
		delete task;
	return rc;
}

namespace detail {

// The function each watched signal runs (kiln::on_signal), one slot per signal number.
inline std::function<void(int)> *&signal_function(int sig)
{
	static std::function<void(int)> *slots[65];
	return slots[sig];
}

inline void run_signal(int sig, void *arg) noexcept
{
	(void)sig;
	(*static_cast<std::function<void(int)> *>(arg))(sig);
}

} // namespace detail

// Runs `fn(sig)` from the loop each time `sig` arrives, never in signal context (see
// os_signal): kiln::on_signal(SIGTERM, [](int) { kiln::shutdown(0); }). Replaces the function
// set earlier for `sig`. Must be called on the loop's thread. Throws std::system_error
// (EINVAL: not a signal a program can watch, or no event loop runs).
inline void on_signal(int sig, std::function<void(int)> fn)
{
	if (sig < 1 || sig > 64)
		detail::throw_errno(-static_cast<int>(std::errc::invalid_argument), "kiln::on_signal");
	auto *held = new std::function<void(int)>(std::move(fn));
	int rc = ::os_signal(sig, detail::run_signal, held);
	if (rc < 0) {
		delete held;
		detail::throw_errno(rc, "kiln::on_signal");
	}
	delete detail::signal_function(sig);
	detail::signal_function(sig) = held;
}

// Stops watching `sig` (see os_signal with a NULL callback): its disposition applies again.
inline void stop_signal(int sig) noexcept
{
	if (sig < 1 || sig > 64 || !detail::signal_function(sig))
		return;
	::os_signal(sig, nullptr, nullptr);
	delete detail::signal_function(sig);
	detail::signal_function(sig) = nullptr;
}

// Runs `fn` once from the loop when the network is ready (see os_on_network_ready).
inline void on_network_ready(std::function<void()> fn)
{
	auto *task = new detail::Task(std::move(fn));
	int rc = ::os_on_network_ready(detail::run_task, task);
	if (rc < 0) {
		delete task;
		detail::throw_errno(rc, "kiln::on_network_ready");
	}
}

// An IPv4 or IPv6 socket address (sockaddr_in / sockaddr_in6), by value.
class Address {
public:
	Address() = default;
	Address(const sockaddr *addr, socklen_t len) noexcept
	{
		len_ = len < sizeof storage_ ? len : static_cast<socklen_t>(sizeof storage_);
		std::memcpy(&storage_, addr, len_);
	}
	explicit Address(const sockaddr_storage &storage) noexcept
		: Address(reinterpret_cast<const sockaddr *>(&storage),
		          storage.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in))
	{
	}
	// A numeric IPv4/IPv6 literal and a port; throws std::system_error(EINVAL) otherwise.
	Address(const char *host, uint16_t port)
	{
		auto *v4 = reinterpret_cast<sockaddr_in *>(&storage_);
		auto *v6 = reinterpret_cast<sockaddr_in6 *>(&storage_);
		if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
			v4->sin_family = AF_INET;
			v4->sin_port = htons(port);
			len_ = sizeof *v4;
		} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
			v6->sin6_family = AF_INET6;
			v6->sin6_port = htons(port);
			len_ = sizeof *v6;
		} else {
			detail::throw_errno(-EINVAL, "kiln::Address");
		}
	}

	const sockaddr *get() const noexcept { return reinterpret_cast<const sockaddr *>(&storage_); }
	socklen_t size() const noexcept { return len_; }
	int family() const noexcept { return storage_.ss_family; }
	uint16_t port() const noexcept { return len_ ? ::os_addr_port(get()) : 0; }
	// "1.2.3.4:80" or "[::1]:80" (empty for an empty Address).
	std::string str() const
	{
		char buf[64];
		return len_ && ::os_addr_format(get(), buf, sizeof buf) >= 0 ? std::string(buf)
		                                                             : std::string();
	}

private:
	sockaddr_storage storage_{};
	socklen_t len_ = 0;
};

// Starts a one-shot timer that nobody can cancel: `fn` runs once after `delay_ms`.
inline void after(uint64_t delay_ms, std::function<void()> fn)
{
	auto *task = new detail::Task(std::move(fn));
	int rc = ::os_timer_start(
		nullptr, delay_ms, 0, [](os_timer *, void *arg) { detail::run_task(arg); }, task);
	if (rc < 0) {
		delete task;
		detail::throw_errno(rc, "kiln::after");
	}
}

// A timer (see os_timer_start); destroying it cancels it.
class Timer {
public:
	Timer() = default;
	// Fires once, `delay_ms` from now.
	[[nodiscard]] static Timer once(uint64_t delay_ms, std::function<void()> fn)
	{
		return Timer(delay_ms, 0, std::move(fn));
	}
	// Fires every `period_ms`, first after `first_ms` (default: one period).
	[[nodiscard]] static Timer every(uint64_t period_ms, std::function<void()> fn,
	                                 uint64_t first_ms = UINT64_MAX)
	{
		return Timer(first_ms == UINT64_MAX ? period_ms : first_ms, period_ms, std::move(fn));
	}

	Timer(Timer &&other) noexcept : s_(std::exchange(other.s_, nullptr)) {}
	Timer &operator=(Timer &&other) noexcept
	{
		if (this != &other) {
			release_state();
			s_ = std::exchange(other.s_, nullptr);
		}
		return *this;
	}
	Timer(const Timer &) = delete;
	Timer &operator=(const Timer &) = delete;
	~Timer() { release_state(); }

	// Stops it (allowed inside its own callback); the object stays, inactive.
	void cancel() noexcept
	{
		if (s_ && s_->timer) {
			::os_timer_cancel(s_->timer);
			s_->timer = nullptr;
		}
	}
	// Whether it will still fire.
	bool active() const noexcept { return s_ && s_->timer; }

private:
	struct State {
		os_timer *timer = nullptr;
		std::function<void()> fn;
		bool repeating = false;
		int depth = 0;       // > 0 while fn runs
		bool orphan = false; // the Timer object is gone: delete when fn returns
	};

	Timer(uint64_t delay_ms, uint64_t repeat_ms, std::function<void()> fn) : s_(new State)
	{
		s_->fn = std::move(fn);
		s_->repeating = repeat_ms > 0;
		int rc = ::os_timer_start(&s_->timer, delay_ms, repeat_ms, fire, s_);
		if (rc < 0) {
			delete s_;
			s_ = nullptr;
			detail::throw_errno(rc, "kiln::Timer");
		}
	}

	static void fire(os_timer *, void *arg) noexcept
	{
		auto *s = static_cast<State *>(arg);
		s->depth++;
		if (!s->orphan)
			s->fn();
		s->depth--;
		if (!s->repeating)
			s->timer = nullptr; // the C handle is released when this returns
		if (s->orphan && s->depth == 0)
			delete s;
	}

	void release_state() noexcept
	{
		if (!s_)
			return;
		cancel();
		if (s_->depth > 0)
			s_->orphan = true;
		else
			delete s_;
		s_ = nullptr;
	}

	State *s_ = nullptr;
};

// A bound UDP socket (see os_udp_bind); destroying it closes it.
class UdpSocket {
public:
	// data: valid during the call only; from: the sender.
	using Handler = std::function<void(UdpSocket &self, std::string_view data, const Address &from)>;

	UdpSocket() = default;
	UdpSocket(UdpSocket &&other) noexcept : s_(std::exchange(other.s_, nullptr))
	{
		if (s_)
			s_->owner = this;
	}
	UdpSocket &operator=(UdpSocket &&other) noexcept
	{
		if (this != &other) {
			close();
			s_ = std::exchange(other.s_, nullptr);
			if (s_)
				s_->owner = this;
		}
		return *this;
	}
	UdpSocket(const UdpSocket &) = delete;
	UdpSocket &operator=(const UdpSocket &) = delete;
	~UdpSocket() { close(); }

	// Binds to `host`:`port` (numeric; port 0: any) and calls `on_datagram` for each
	// datagram. Throws std::system_error on failure. Closes what this object held before.
	void bind(const char *host, uint16_t port, Handler on_datagram)
	{
		close();
		auto *s = new State;
		s->fn = std::move(on_datagram);
		s->owner = this;
		int rc = ::os_udp_bind(&s->udp, host, port, receive, s);
		if (rc < 0) {
			delete s;
			detail::throw_errno(rc, "kiln::UdpSocket::bind");
		}
		s_ = s;
	}
	// Sends one datagram; 0 or a negative errno (see os_udp_send).
	int send(std::string_view data, const Address &to) noexcept
	{
		if (!s_)
			return -EBADF;
		return ::os_udp_send(s_->udp, data.data(), data.size(), to.get(), to.size());
	}
	Address address() const
	{
		sockaddr_storage storage{};
		if (!s_ || ::os_udp_address(s_->udp, &storage) < 0)
			return Address();
		return Address(storage);
	}
	uint16_t port() const { return address().port(); }
	bool is_open() const noexcept { return s_ != nullptr; }

	void close() noexcept
	{
		if (!s_)
			return;
		::os_udp_close(s_->udp);
		s_->owner = nullptr;
		if (s_->depth == 0)
			delete s_;
		s_ = nullptr;
	}

private:
	struct State {
		os_udp *udp = nullptr;
		Handler fn;
		UdpSocket *owner = nullptr; // nullptr once closed: delete when the callback returns
		int depth = 0;
	};

	static void receive(os_udp *, const void *data, size_t len, const sockaddr *from,
	                    socklen_t fromlen, void *arg) noexcept
	{
		auto *s = static_cast<State *>(arg);
		s->depth++;
		if (s->owner)
			s->fn(*s->owner, std::string_view(static_cast<const char *>(data), len),
			      Address(from, fromlen));
		s->depth--;
		if (!s->owner && s->depth == 0)
			delete s;
	}

	State *s_ = nullptr;
};

class TcpServer;

// One TCP connection (see os_tcp_*); destroying it closes it abortively.
class TcpConnection {
public:
	using DataHandler = std::function<void(TcpConnection &self, std::string_view data)>;
	using Handler = std::function<void(TcpConnection &self)>;
	using ErrorHandler = std::function<void(TcpConnection &self, int err)>;
	using ConnectHandler = std::function<void(TcpConnection &self, int status)>;

	TcpConnection() = default;
	TcpConnection(TcpConnection &&other) noexcept : s_(std::exchange(other.s_, nullptr))
	{
		if (s_)
			s_->owner = this;
	}
	TcpConnection &operator=(TcpConnection &&other) noexcept
	{
		if (this != &other) {
			release_state();
			s_ = std::exchange(other.s_, nullptr);
			if (s_)
				s_->owner = this;
		}
		return *this;
	}
	TcpConnection(const TcpConnection &) = delete;
	TcpConnection &operator=(const TcpConnection &) = delete;
	~TcpConnection() { release_state(); }

	// Connects to `host`:`port` (numeric); `on_connect` gets 0 or a negative errno, then (on
	// failure) on_close runs. Throws std::system_error for an error found at once.
	[[nodiscard]] static TcpConnection connect(const char *host, uint16_t port,
	                                           ConnectHandler on_connect)
	{
		TcpConnection conn;
		auto *s = new State;
		s->on_connect = std::move(on_connect);
		s->owner = &conn;
		int rc = ::os_tcp_connect(&s->tcp, host, port, connected, s);
		if (rc < 0) {
			delete s;
			detail::throw_errno(rc, "kiln::TcpConnection::connect");
		}
		conn.s_ = s;
		install(s);
		return conn;
	}

	// Received bytes (valid during the call only).
	void on_data(DataHandler fn) { state().on_data = std::move(fn); }
	// The peer finished sending; the library then ends this side too (see os.h on_data).
	void on_end(Handler fn) { state().on_end = std::move(fn); }
	// The write buffer emptied after write() returned false.
	void on_drain(Handler fn) { state().on_drain = std::move(fn); }
	// The connection failed (negative errno); on_close follows.
	void on_error(ErrorHandler fn) { state().on_error = std::move(fn); }
	// Always the last callback.
	void on_close(Handler fn) { state().on_close = std::move(fn); }

	// Queues `data`. true: keep writing; false: the buffer reached the high-water mark
	// (wait for on_drain) or the connection is closing/ended.
	bool write(std::string_view data) noexcept
	{
		return open() && ::os_tcp_write(s_->tcp, data.data(), data.size()) > 0;
	}
	size_t buffered() const noexcept { return open() ? ::os_tcp_buffered(s_->tcp) : 0; }
	void end() noexcept
	{
		if (open())
			::os_tcp_end(s_->tcp);
	}
	void close() noexcept
	{
		if (open())
			::os_tcp_close(s_->tcp);
	}
	void pause() noexcept
	{
		if (open())
			::os_tcp_pause(s_->tcp);
	}
	void resume() noexcept
	{
		if (open())
			::os_tcp_resume(s_->tcp);
	}
	Address peer() const
	{
		sockaddr_storage storage{};
		if (!open() || ::os_tcp_peer_address(s_->tcp, &storage) < 0)
			return Address();
		return Address(storage);
	}
	// Until on_close ran.
	bool open() const noexcept { return s_ && s_->tcp; }

private:
	friend class TcpServer;

	struct State {
		os_tcp *tcp = nullptr; // nullptr after on_close
		TcpConnection *owner = nullptr; // nullptr once the object is gone
		int depth = 0;
		ConnectHandler on_connect;
		DataHandler on_data;
		Handler on_end, on_drain, on_close;
		ErrorHandler on_error;
	};

	State &state()
	{
		if (!s_)
			detail::throw_errno(-EBADF, "kiln::TcpConnection");
		return *s_;
	}

	static TcpConnection adopt(os_tcp *tcp)
	{
		TcpConnection conn;
		conn.s_ = new State;
		conn.s_->tcp = tcp;
		conn.s_->owner = &conn;
		install(conn.s_);
		return conn;
	}

	static void install(State *s) noexcept
	{
		static const os_tcp_callbacks callbacks = {got_data, drained, failed, closed};
		::os_tcp_set_callbacks(s->tcp, &callbacks, s);
	}

	static void connected(os_tcp *, int status, void *arg) noexcept
	{
		auto *s = static_cast<State *>(arg);
		s->depth++;
		if (s->owner && s->on_connect)
			s->on_connect(*s->owner, status);
		s->depth--;
	}
	static void got_data(os_tcp *, const void *bytes, size_t len, void *arg) noexcept
	{
		auto *s = static_cast<State *>(arg);
		s->depth++;
		if (s->owner) {
			if (len && s->on_data)
				s->on_data(*s->owner, std::string_view(static_cast<const char *>(bytes), len));
			else if (!len && s->on_end)
				s->on_end(*s->owner);
		}
		s->depth--;
	}
	static void drained(os_tcp *, void *arg) noexcept
	{
		auto *s = static_cast<State *>(arg);
		s->depth++;
		if (s->owner && s->on_drain)
			s->on_drain(*s->owner);
		s->depth--;
	}
	static void failed(os_tcp *, int err, void *arg) noexcept
	{
		auto *s = static_cast<State *>(arg);
		s->depth++;
		if (s->owner && s->on_error)
			s->on_error(*s->owner, err);
		s->depth--;
	}
	static void closed(os_tcp *, void *arg) noexcept
	{
		auto *s = static_cast<State *>(arg);
		s->depth++;
		if (s->owner && s->on_close)
			s->on_close(*s->owner);
		s->tcp = nullptr; // the C handle is released when this returns
		{
			// Released here, not in the State's destructor: destroying a captured
			// shared_ptr may destroy the owner, which must then see depth > 0.
			auto on_connect = std::move(s->on_connect);
			auto on_data = std::move(s->on_data);
			auto on_end = std::move(s->on_end);
			auto on_drain = std::move(s->on_drain);
			auto on_close = std::move(s->on_close);
			auto on_error = std::move(s->on_error);
		}
		s->depth--;
		if (!s->owner && s->depth == 0)
			delete s;
	}

	void release_state() noexcept
	{
		if (!s_)
			return;
		State *s = std::exchange(s_, nullptr);
		s->owner = nullptr;
		if (s->tcp)
			::os_tcp_close(s->tcp); // on_close comes from the loop and deletes the State
		else if (s->depth == 0)
			delete s;
	}

	State *s_ = nullptr;
};

// A listening TCP socket (see os_tcp_listen); destroying it stops listening (accepted
// connections stay open: they belong to their TcpConnection objects).
class TcpServer {
public:
	using Handler = std::function<void(TcpConnection conn)>;

	TcpServer() = default;
	TcpServer(TcpServer &&other) noexcept : s_(std::exchange(other.s_, nullptr)) {}
	TcpServer &operator=(TcpServer &&other) noexcept
	{
		if (this != &other) {
			close();
			s_ = std::exchange(other.s_, nullptr);
		}
		return *this;
	}
	TcpServer(const TcpServer &) = delete;
	TcpServer &operator=(const TcpServer &) = delete;
	~TcpServer() { close(); }

	// Listens on `host`:`port` (numeric; port 0: any) and hands every accepted connection
	// to `on_connection`, which must keep the TcpConnection (moving it somewhere) for it to
	// stay open. Throws std::system_error on failure. Closes what this object held before.
	void listen(const char *host, uint16_t port, Handler on_connection, int backlog = 0)
	{
		close();
		auto *s = new State;
		s->fn = std::move(on_connection);
		int rc = ::os_tcp_listen(&s->server, host, port, backlog, accept, s);
		if (rc < 0) {
			delete s;
			detail::throw_errno(rc, "kiln::TcpServer::listen");
		}
		s_ = s;
	}
	Address address() const
	{
		sockaddr_storage storage{};
		if (!s_ || ::os_tcp_server_address(s_->server, &storage) < 0)
			return Address();
		return Address(storage);
	}
	uint16_t port() const { return address().port(); }
	bool is_open() const noexcept { return s_ != nullptr; }

	void close() noexcept
	{
		if (!s_)
			return;
		::os_tcp_server_close(s_->server);
		s_->closed = true;
		if (s_->depth == 0)
			delete s_;
		s_ = nullptr;
	}

private:
	struct State {
		os_tcp_server *server = nullptr;
		Handler fn;
		int depth = 0;
		bool closed = false;
	};

	static void accept(os_tcp_server *, os_tcp *tcp, void *arg) noexcept
	{
		auto *s = static_cast<State *>(arg);
		s->depth++;
		if (!s->closed)
			s->fn(TcpConnection::adopt(tcp));
		else
			::os_tcp_close(tcp);
		s->depth--;
		if (s->closed && s->depth == 0)
			delete s;
	}

	State *s_ = nullptr;
};

} // namespace kiln

#endif // KILN_OS_HPP
