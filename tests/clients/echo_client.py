#!/usr/bin/env python3
"""Real clients for the echo servers (examples-c/udp-echo, tcp-echo), run by tests/net.rs
inside the test's private network namespace, and by tests/usernet.rs against `kiln run -p`
port forwards. Prints one `name: result` line per check and exits non-zero if any failed.
Usage: echo_client.py udp HOST PORT COUNT
       echo_client.py tcp HOST PORT SEQUENTIAL CONCURRENT MEGABYTES
       echo_client.py burst HOST PORT UDP_PORT COUNT
       echo_client.py bulk HOST PORT MEGABYTES
`tcp`: CONCURRENT connections are opened at once (non-blocking connects, all issued before
any completes), then all echo together. `bulk`: one connection, MEGABYTES MiB each way, with
the time it took (tests/bulk.rs, bench/linux-guest-tcp.sh)."""
import concurrent.futures
import errno
import hashlib
import os
import selectors
import socket
import sys
import time


def udp(host, port, count):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(2)
    ok = 0
    for i in range(count):
        msg = os.urandom(1 + i % 1400)
        for _attempt in range(3):  # UDP: a lost datagram is retried, not a failure
            s.sendto(msg, (host, port))
            try:
                data, _ = s.recvfrom(65536)
            except socket.timeout:
                continue
            ok += data == msg
            break
    print(f"udp echoes: {ok}/{count}")
    return ok == count


def open_at_once(host, port, count, timeout):
    """`count` TCP connections to `host`:`port`, every connect issued before any completes
    (non-blocking); returns {index: socket or the errno it failed with}, waiting at most
    `timeout` seconds for them to complete."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sel = selectors.DefaultSelector()
    conns = []
    for i in range(count):
        c = socket.socket(family, socket.SOCK_STREAM)
        c.setblocking(False)
        c.connect_ex((host, port))
        sel.register(c, selectors.EVENT_WRITE, i)
        conns.append(c)
    done = {}
    deadline = time.time() + timeout
    while len(done) < count and time.time() < deadline:
        for key, _ in sel.select(timeout=1):
            sel.unregister(key.fileobj)
            done[key.data] = key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    sel.close()
    return {i: (c if done.get(i) == 0 else done.get(i, errno.ETIMEDOUT))
            for i, c in enumerate(conns)}


def tcp_echo(host, port, data, timeout=20, conn=None):
    """Sends `data` and reads the echo at the same time (never blocked in one while the other
    could go on: a client stuck in send while its receive buffer fills would stall the
    server's echo and then its own send); True if every byte came back unchanged. Fails
    after `timeout` seconds without progress."""
    c = conn or socket.create_connection((host, port), timeout=timeout)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c.setblocking(False)
    sent = hashlib.sha256(data).hexdigest()
    got = hashlib.sha256()
    received = 0
    view = memoryview(data)
    off = 0
    sel = selectors.DefaultSelector()
    sel.register(c, selectors.EVENT_READ | selectors.EVENT_WRITE)
    try:
        while received < len(data):
            events = sel.select(timeout)
            if not events:
                print(f"tcp echo of {len(data)} bytes: no progress in {timeout} s")
                break
            mask = events[0][1]
            if mask & selectors.EVENT_WRITE:
                try:
                    off += c.send(view[off:off + 262144])
                except BlockingIOError:
                    pass
                if off == len(data):
                    sel.modify(c, selectors.EVENT_READ)
            if mask & selectors.EVENT_READ:
                try:
                    chunk = c.recv(1 << 20)
                except BlockingIOError:
                    continue
                if not chunk:
                    break
                got.update(chunk)
                received += len(chunk)
    except OSError as e:
        print(f"tcp echo of {len(data)} bytes: {e!r}")
    sel.close()
    c.close()
    return received == len(data) and got.hexdigest() == sent


def tcp(host, port, sequential, parallel, megabytes):
    ok = True
    t = time.time()
    seq = sum(tcp_echo(host, port, b"line %d\n" % i) for i in range(sequential))
    print(f"tcp sequential connections: {seq}/{sequential} in {time.time() - t:.1f}s")
    ok &= seq == sequential
    t = time.time()
    # All connections opened at once, before any echoes; then all echo at once.
    conns = open_at_once(host, port, parallel, timeout=20)
    opened = [c for c in conns.values() if isinstance(c, socket.socket)]
    failed = sorted({os.strerror(e) for e in conns.values() if not isinstance(e, socket.socket)})
    print(f"tcp connections opened at once: {len(opened)}/{parallel}"
          + (f" ({', '.join(failed)})" if failed else ""))
    for c in conns.values():
        if isinstance(c, socket.socket):
            c.setblocking(True)
            c.settimeout(20)
    with concurrent.futures.ThreadPoolExecutor(parallel) as ex:
        res = list(ex.map(lambda i: isinstance(conns[i], socket.socket)
                          and tcp_echo(host, port, b"c%d\n" % i, conn=conns[i]),
                          range(parallel)))
    print(f"tcp concurrent connections: {sum(res)}/{parallel} in {time.time() - t:.1f}s")
    ok &= sum(res) == parallel
    if megabytes:
        t = time.time()
        big = os.urandom(megabytes << 20)
        same = tcp_echo(host, port, big, timeout=60)
        print(f"tcp {megabytes} MiB each way, equal sha256: {same} in {time.time() - t:.1f}s")
        ok &= same
    return ok


def burst(host, port, udp_port, count, timeout=60):
    """Opens `count` TCP connections at once to tests/programs/listen_burst, which accepts
    none of them until the UDP datagram "go" reaches `udp_port`; then each must get its own
    line echoed."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    deadline = time.time() + timeout
    opened = open_at_once(host, port, count, timeout)
    conns = [c if isinstance(c, socket.socket) else None for _, c in sorted(opened.items())]
    connected = {i: (0 if isinstance(c, socket.socket) else c) for i, c in opened.items()}
    refused = sum(1 for e in connected.values() if e != 0)
    errors = sorted({os.strerror(e) for e in connected.values() if e != 0})
    print(f"burst connects: {count - refused}/{count} ({refused} failed)"
          + (f": {', '.join(errors)}" if errors else ""))
    for i, c in enumerate(conns):
        if connected.get(i) == 0:
            c.setblocking(True)
            c.sendall(b"burst %d\n" % i)
    # "go" is a datagram: sent again each second until the first echo arrives.
    u = socket.socket(family, socket.SOCK_DGRAM)
    waiting = [c for i, c in enumerate(conns) if connected.get(i) == 0]
    while waiting and time.time() < deadline:
        u.sendto(b"go", (host, udp_port))
        readable = selectors.DefaultSelector()
        for c in waiting:
            readable.register(c, selectors.EVENT_READ)
        if readable.select(timeout=1):
            break
    ok = 0
    for i, c in enumerate(conns):
        if connected.get(i) != 0:
            continue
        c.settimeout(max(1, deadline - time.time()))
        want = b"burst %d\n" % i
        got = b""
        try:
            while len(got) < len(want):
                chunk = c.recv(256)
                if not chunk:
                    break
                got += chunk
        except OSError:
            pass
        ok += got == want
        c.close()
    print(f"burst connections echoed: {ok}/{count}")
    return ok == count


def bulk(host, port, megabytes):
    data = os.urandom(megabytes << 20)
    t = time.time()
    same = tcp_echo(host, port, data, timeout=60)
    took = time.time() - t
    print(f"tcp {megabytes} MiB each way, equal sha256: {same} in {took:.1f}s "
          f"({megabytes / took:.2f} MiB/s each way)")
    return same


def main():
    kind, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if kind == "udp":
        ok = udp(host, port, int(sys.argv[4]))
    elif kind == "bulk":
        ok = bulk(host, port, int(sys.argv[4]))
    elif kind == "burst":
        ok = burst(host, port, int(sys.argv[4]), int(sys.argv[5]))
    else:
        ok = tcp(host, port, int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
