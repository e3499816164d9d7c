// system_error.cpp: std::system_error's messages. Debian's libc++.a calls GNU strerror_r
// (which returns the message); musl's is the XSI one (returns 0). `kiln link --cxx` links a
// libc++ whose call is renamed to libc-shim's __kiln_gnu_strerror_r; before that, building
// any std::system_error read address 0. Meanwhile C code keeps musl's XSI strerror_r.
// Expected: "status: ok", exit 0.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <system_error>

namespace {

int failures = 0;

void check(const char *name, bool passed, const std::string &detail)
{
    std::printf(passed ? "%s: ok\n" : "%s: FAIL (%s)\n", name, detail.c_str());
    failures += !passed;
}

} // namespace

int main()
{
    std::system_error e(EADDRINUSE, std::generic_category(), "bind");
    check("system_error::what", std::string(e.what()) == "bind: Address in use", e.what());
    std::string message = std::generic_category().message(ENOENT);
    check("generic_category message", message == "No such file or directory", message);
    message = std::system_category().message(EAGAIN);
    check("system_category message", message == std::strerror(EAGAIN), message);
    message = std::make_error_code(std::errc::connection_refused).message();
    check("error_code message", message == "Connection refused", message);
    message = std::generic_category().message(100000);
    check("unknown error", !message.empty(), message);

    char buf[64] = "";
    int rc = strerror_r(ENOENT, buf, sizeof buf); // musl's XSI strerror_r, as C code sees it
    check("XSI strerror_r", rc == 0 && std::string(buf) == "No such file or directory", buf);
    std::printf("status: %s\n", failures ? "FAIL" : "ok");
    return failures ? 1 : 0;
}
