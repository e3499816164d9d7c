// cpp_tcp.cpp: kiln/os.hpp's TCP and UDP types, over IPv4 and IPv6.
//  - an echo TcpServer keeps its connections in a std::list and erases each inside its own
//    on_close (destroying the object from its own callback);
//  - a client (TcpConnection::connect) sends "ping", gets it back, end()s; both sides close;
//  - a client that destroys its own TcpConnection inside on_data (abortive close) still
//    gets no callback afterwards, and the server sees its connection close;
//  - a connect to a port nobody listens on reports -ECONNREFUSED, then on_close;
//  - a UdpSocket moved after bind() still receives, and a reply reaches the sender.
// Then everything is closed and the loop ends by itself (status 0).
#include <kiln/os.hpp>

#include <cerrno>
#include <cstdio>
#include <list>
#include <string>

#include "check.h"

namespace {

struct Family {
	const char *name;
	const char *host;
	kiln::TcpServer server;
	std::list<kiln::TcpConnection> accepted;
	int server_closes = 0;
	kiln::TcpConnection pinger, dropper, refused;
	std::string pinger_got;
	int pinger_closes = 0, dropper_data = 0, dropper_after = 0, refused_status = 0,
	    refused_closes = 0;
	kiln::UdpSocket udp_server, udp_client;
	std::string udp_got;
};

Family families[2] = {{"IPv4", "127.0.0.1"}, {"IPv6", "::1"}};
int finished;

void finish_if_done()
{
	for (auto &f : families)
		if (f.server_closes < 2 || f.pinger_closes < 1 || f.refused_closes < 1 ||
		    f.udp_got.empty())
			return;
	if (finished++)
		return;
	for (auto &f : families) {
		std::string name(f.name);
		CHECK((name + ": ping came back").c_str(), f.pinger_got == "ping", "%s",
		      f.pinger_got.c_str());
		CHECK((name + ": connection destroyed in on_data got no more callbacks").c_str(),
		      f.dropper_data == 1 && f.dropper_after == 0, "%d %d", f.dropper_data,
		      f.dropper_after);
		CHECK((name + ": server connections erased in on_close").c_str(),
		      f.accepted.empty() && f.server_closes == 2, "%zu left", f.accepted.size());
		CHECK((name + ": refused connect reported, then on_close").c_str(),
		      f.refused_status == -ECONNREFUSED && f.refused_closes == 1, "%d",
		      f.refused_status);
		CHECK((name + ": moved UdpSocket got the datagram and replied").c_str(),
		      f.udp_got == "pong", "%s", f.udp_got.c_str());
		f.server.close();
		f.udp_server.close();
		f.udp_client.close();
	}
	if (check_status())
		kiln::shutdown(1);
}

void start(Family &f)
{
	f.server.listen(f.host, 0, [&f](kiln::TcpConnection conn) {
		f.accepted.push_back(std::move(conn));
		auto it = std::prev(f.accepted.end());
		it->on_data([](kiln::TcpConnection &self, std::string_view data) { self.write(data); });
		it->on_close([&f, it](kiln::TcpConnection &) {
			f.server_closes++;
			f.accepted.erase(it); // destroys this very connection object
			finish_if_done();
		});
	});
	uint16_t port = f.server.port();

	f.pinger = kiln::TcpConnection::connect(f.host, port, [](kiln::TcpConnection &self, int st) {
		if (st == 0)
			self.write("ping");
	});
	f.pinger.on_data([&f](kiln::TcpConnection &self, std::string_view data) {
		f.pinger_got.append(data);
		if (f.pinger_got == "ping")
			self.end();
	});
	f.pinger.on_close([&f](kiln::TcpConnection &) {
		f.pinger_closes++;
		finish_if_done();
	});

	f.dropper = kiln::TcpConnection::connect(f.host, port, [](kiln::TcpConnection &self, int st) {
		if (st == 0)
			self.write("drop me");
	});
	f.dropper.on_data([&f](kiln::TcpConnection &, std::string_view) {
		f.dropper_data++;
		f.dropper = kiln::TcpConnection(); // destroys the object whose callback runs
	});
	f.dropper.on_close([&f](kiln::TcpConnection &) { f.dropper_after++; });

	// A port that was free a moment ago: bind a server, note its port, close it.
	kiln::TcpServer probe;
	probe.listen(f.host, 0, [](kiln::TcpConnection) {});
	uint16_t closed_port = probe.port();
	probe.close();
	f.refused = kiln::TcpConnection::connect(f.host, closed_port,
	                                         [&f](kiln::TcpConnection &, int st) {
		                                         f.refused_status = st;
	                                         });
	f.refused.on_close([&f](kiln::TcpConnection &) {
		f.refused_closes++;
		finish_if_done();
	});

	kiln::UdpSocket server;
	server.bind(f.host, 0, [](kiln::UdpSocket &self, std::string_view data,
	                          const kiln::Address &from) {
		if (data == "ping")
			self.send("pong", from);
	});
	f.udp_server = std::move(server);
	f.udp_client.bind(f.host, 0, [&f](kiln::UdpSocket &, std::string_view data,
	                                  const kiln::Address &) {
		f.udp_got.assign(data);
		finish_if_done();
	});
	f.udp_client.send("ping", f.udp_server.address());
}

} // namespace

extern "C" void OS_start()
{
	std::setvbuf(stdout, nullptr, _IOLBF, 0);
	try {
		for (auto &f : families)
			start(f);
	} catch (const std::system_error &e) {
		std::printf("setup: FAIL (%s)\n", e.what());
		kiln::shutdown(1);
	}
}
