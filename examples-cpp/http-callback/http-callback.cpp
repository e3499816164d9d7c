// http-callback: an HTTP/1.1 server on the kiln/os.hpp event API (no main(), no threads).
//
// Routes: GET / (an index), GET /hello, POST /echo (the body back), anything else 404.
// Keep-alive is HTTP/1.1's default (and HTTP/1.0's with "Connection: keep-alive");
// pipelined requests are answered in order. Listens on [::] and 0.0.0.0 at $PORT (default
// 8080; 0 picks a free port for each, printed at start). Requests with headers over 8 KiB or
// bodies over 1 MiB get 431/413 and the connection is closed.
#include <kiln/os.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace {

constexpr size_t kMaxHeader = 8 * 1024;
constexpr size_t kMaxBody = 1024 * 1024;

kiln::TcpServer server4, server6;

bool iequals(std::string_view a, std::string_view b)
{
	if (a.size() != b.size())
		return false;
	for (size_t i = 0; i < a.size(); i++) {
		char x = a[i], y = b[i];
		if (x >= 'A' && x <= 'Z')
			x = static_cast<char>(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = static_cast<char>(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

std::string_view trim(std::string_view s)
{
	while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
		s.remove_prefix(1);
	while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
		s.remove_suffix(1);
	return s;
}

struct Request {
	std::string_view method, path, version;
	size_t content_length = 0;
	bool keep_alive = true;
	bool bad = false;
};

// Parses the request line and headers of `head` (without the final blank line).
Request parse_head(std::string_view head)
{
	Request req;
	size_t eol = head.find("\r\n");
	std::string_view line = head.substr(0, eol);
	size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
	if (sp1 == std::string_view::npos || sp2 == sp1) {
		req.bad = true;
		return req;
	}
	req.method = line.substr(0, sp1);
	req.path = line.substr(sp1 + 1, sp2 - sp1 - 1);
	req.version = line.substr(sp2 + 1);
	req.keep_alive = req.version == "HTTP/1.1";
	while (eol != std::string_view::npos) {
		head.remove_prefix(eol + 2);
		eol = head.find("\r\n");
		line = head.substr(0, eol);
		size_t colon = line.find(':');
		if (colon == std::string_view::npos)
			continue;
		std::string_view name = trim(line.substr(0, colon)), value = trim(line.substr(colon + 1));
		if (iequals(name, "content-length")) {
			size_t n = 0;
			for (char c : value) {
				if (c < '0' || c > '9' || n > kMaxBody) {
					req.bad = true;
					break;
				}
				n = n * 10 + static_cast<size_t>(c - '0');
			}
			req.content_length = n;
		} else if (iequals(name, "connection")) {
			if (iequals(value, "close"))
				req.keep_alive = false;
			else if (iequals(value, "keep-alive"))
				req.keep_alive = true;
		} else if (iequals(name, "transfer-encoding")) {
			req.bad = true; // chunked request bodies are not supported: 400
		}
	}
	return req;
}

void respond(kiln::TcpConnection &conn, int status, const char *reason, std::string_view body,
             bool keep_alive)
{
	std::string out;
	out.reserve(128 + body.size());
	out += "HTTP/1.1 ";
	out += std::to_string(status);
	out += ' ';
	out += reason;
	out += "\r\nServer: kiln-http-callback\r\nContent-Type: text/plain\r\nContent-Length: ";
	out += std::to_string(body.size());
	out += keep_alive ? "\r\nConnection: keep-alive\r\n\r\n" : "\r\nConnection: close\r\n\r\n";
	out += body;
	conn.write(out);
	if (!keep_alive)
		conn.end();
}

void route(kiln::TcpConnection &conn, const Request &req, std::string_view body)
{
	if (req.path == "/") {
		if (req.method != "GET")
			return respond(conn, 405, "Method Not Allowed", "use GET\n", req.keep_alive);
		return respond(conn, 200, "OK",
		               "Kiln http-callback: GET /hello, POST /echo\n", req.keep_alive);
	}
	if (req.path == "/hello") {
		if (req.method != "GET")
			return respond(conn, 405, "Method Not Allowed", "use GET\n", req.keep_alive);
		return respond(conn, 200, "OK", "Hello from Kiln!\n", req.keep_alive);
	}
	if (req.path == "/echo") {
		if (req.method != "POST")
			return respond(conn, 405, "Method Not Allowed", "use POST\n", req.keep_alive);
		return respond(conn, 200, "OK", body, req.keep_alive);
	}
	respond(conn, 404, "Not Found", "not found\n", req.keep_alive);
}

struct Client {
	kiln::TcpConnection conn;
	std::string in;
	bool done = false; // answered with Connection: close; ignore the rest
};

// Answers every complete request in c.in, in order.
void serve(Client &c)
{
	size_t used = 0;
	while (!c.done) {
		std::string_view rest(c.in.data() + used, c.in.size() - used);
		size_t end = rest.find("\r\n\r\n");
		if (end == std::string_view::npos) {
			if (rest.size() > kMaxHeader) {
				respond(c.conn, 431, "Request Header Fields Too Large", "", false);
				c.done = true;
			}
			break;
		}
		Request req = parse_head(rest.substr(0, end));
		if (req.bad || req.content_length > kMaxBody) {
			bool too_big = !req.bad;
			respond(c.conn, too_big ? 413 : 400, too_big ? "Payload Too Large" : "Bad Request",
			        "", false);
			c.done = true;
			break;
		}
		size_t total = end + 4 + req.content_length;
		if (rest.size() < total)
			break; // the body is still coming
		route(c.conn, req, rest.substr(end + 4, req.content_length));
		c.done = !req.keep_alive;
		used += total;
	}
	c.in.erase(0, used);
}

void accept_client(kiln::TcpConnection conn)
{
	auto client = std::make_shared<Client>();
	client->conn = std::move(conn);
	// The callbacks hold the client; they are released after on_close, which frees it.
	client->conn.on_data([client](kiln::TcpConnection &, std::string_view data) {
		if (client->done)
			return;
		client->in.append(data);
		serve(*client);
	});
	client->conn.on_close([client](kiln::TcpConnection &) {});
}

// Listens on host:port and says so; returns 0 or the errno.
int listen_on(kiln::TcpServer &server, const char *host, uint16_t port)
{
	try {
		server.listen(host, port, accept_client, 1024);
		std::printf("listening on %s\n", server.address().str().c_str());
		return 0;
	} catch (const std::system_error &e) {
		return e.code().value();
	}
}

} // namespace

extern "C" void OS_start()
{
	std::setvbuf(stdout, nullptr, _IOLBF, 0);
	const char *env = std::getenv("PORT");
	uint16_t port = static_cast<uint16_t>(env ? std::atoi(env) : 8080);
	int err6 = listen_on(server6, "::", port);
	int err4 = listen_on(server4, "0.0.0.0", port);
	// Where "::" takes IPv4 connections as well (a system that ignores IPV6_V6ONLY), "0.0.0.0"
	// on the same port is EADDRINUSE and already served.
	if (err6 == 0 && err4 == EADDRINUSE) {
		std::printf("IPv4 served on [::]:%u\n", port);
		err4 = 0;
	}
	const char *host = err6 != 0 ? "::" : "0.0.0.0";
	if (int err = err6 != 0 ? err6 : err4) {
		std::printf("cannot listen on %s port %u: %s\n", host, port, std::strerror(err));
		kiln::shutdown(1);
	}
}
