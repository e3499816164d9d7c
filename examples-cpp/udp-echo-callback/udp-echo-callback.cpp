// udp-echo-callback: a UDP echo server on the kiln/os.hpp event API (no main()).
//
// Sends every datagram back to its sender, on 0.0.0.0 and [::] at $PORT (default 7; 0 picks
// a free port for each, printed at start). A datagram that reads "quit" ends the program
// (status 0) after it is echoed, so a test or a user can stop the VM cleanly.
#include <kiln/os.hpp>

#include <cstdio>
#include <cstdlib>

namespace {

kiln::UdpSocket socket4, socket6;
unsigned long echoed;

void echo(kiln::UdpSocket &self, std::string_view data, const kiln::Address &from)
{
	int rc = self.send(data, from);
	if (rc < 0)
		std::printf("echo to %s failed: %d\n", from.str().c_str(), rc);
	else
		echoed++;
	if (data == "quit") {
		std::printf("quit from %s after %lu datagrams\n", from.str().c_str(), echoed);
		kiln::shutdown(0);
	}
}

void bind_on(kiln::UdpSocket &socket, const char *host, uint16_t port)
{
	try {
		socket.bind(host, port, echo);
		std::printf("echoing on %s\n", socket.address().str().c_str());
	} catch (const std::system_error &e) {
		std::printf("cannot bind %s port %u: %s\n", host, port, e.what());
		kiln::shutdown(1);
	}
}

} // namespace

extern "C" void OS_start()
{
	std::setvbuf(stdout, nullptr, _IOLBF, 0);
	const char *env = std::getenv("PORT");
	uint16_t port = static_cast<uint16_t>(env ? std::atoi(env) : 7);
	bind_on(socket4, "0.0.0.0", port);
	bind_on(socket6, "::", port);
}
