// kiln/os.hpp: the C++ face of kiln/os.h (see there for the contract of each call).
//
// The program's entry point stays the C function OS_start(): define it as
//     extern "C" void OS_start() { ... }
// (including this header declares it with C linkage, so a plain definition also works).
// Event sources (sockets, timers) will get C++ wrappers here, taking std::function callbacks
// that run on the event loop's thread, when they arrive in kiln/os.h.
#ifndef KILN_OS_HPP
#define KILN_OS_HPP

#include <kiln/os.h>

namespace kiln {

// Ends the program with `status` once the current callback (or OS_start) returns; in a
// program with its own main(), exits at once. See os_shutdown() in kiln/os.h.
inline void shutdown(int status) noexcept { ::os_shutdown(status); }

} // namespace kiln

#endif // KILN_OS_HPP
