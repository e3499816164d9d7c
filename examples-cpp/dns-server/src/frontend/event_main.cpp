// Front end B: the kiln/os.h event API (OS_start + callbacks, issue 4). That API has no
// socket or timer calls yet, so this front end cannot be written; CMakeLists.txt selects it
// by default once kiln/os.h declares them (DNS_FRONTEND=auto). What it needs from the API:
//
//  - UDP: bind to an address and port (IPv4 and IPv6); an on-datagram callback that gets the
//    bytes and the peer's address; a send(peer, bytes) that copies or takes the buffer.
//  - TCP: listen with an on-connection callback; per connection on-data (bytes as they
//    arrive), on-close/on-error, write (buffered, with a drain signal or a way to ask how
//    much is queued, for backpressure), end/close — also from inside on-data.
//  - Timers: a repeating timer (idle-connection sweep every second) and monotonic time.
//
// With those, this file is about 100 lines: the same dns::Responder answers each datagram
// straight into a static buffer; TCP data is framed exactly as in posix_main.cpp.
#error "the kiln/os.h event API (issue 4) has no sockets or timers yet: build with -DDNS_FRONTEND=posix"
