#!/usr/bin/env python3
"""Real clients for the echo servers (examples-c/udp-echo, tcp-echo), run by tests/net.rs
inside the test's private network namespace, and by tests/usernet.rs against QEMU's port
forwards. Prints one `name: result` line per check and exits non-zero if any failed.
Usage: echo_client.py udp HOST PORT COUNT
       echo_client.py tcp HOST PORT SEQUENTIAL CONCURRENT MEGABYTES [paced]
       echo_client.py burst HOST PORT UDP_PORT COUNT [paced]
       echo_client.py bulk HOST PORT MEGABYTES
`paced`: PORT is QEMU's port forward on 127.0.0.1 (see `connect`). `bulk`: one connection,
MEGABYTES MiB each way, with the time it took (tests/bulk.rs, bench/linux-guest-tcp.sh)."""
import concurrent.futures
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


def forward_queue(port):
    """Connections waiting in the accept queue of the host's listener on 127.0.0.1:`port`
    (QEMU's port forward), from /proc/net/tcp; None if nothing listens there."""
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            local, state = fields[1], fields[3]
            if state == "0A" and local == f"0100007F:{port:04X}":
                return int(fields[4].split(":")[1], 16)
    return None


def connect(host, port, paced, timeout=20):
    """A connection to `host`:`port`. `paced`: `port` is a QEMU port forward on 127.0.0.1,
    whose listener has a backlog of 1 (libslirp listens with listen(fd, 1)): return only
    once QEMU took the connection from its accept queue, so the next connect finds room
    (a full accept queue on Linux drops the handshake's last ACK and, with SYN cookies, the
    client believes it is connected while the server never hears of it)."""
    c = socket.create_connection((host, port), timeout=timeout)
    deadline = time.time() + timeout
    while paced and forward_queue(port) != 0 and time.time() < deadline:
        time.sleep(0.001)
    return c


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


def tcp(host, port, sequential, parallel, megabytes, paced=False):
    ok = True
    t = time.time()
    seq = sum(tcp_echo(host, port, b"line %d\n" % i) for i in range(sequential))
    print(f"tcp sequential connections: {seq}/{sequential} in {time.time() - t:.1f}s")
    ok &= seq == sequential
    t = time.time()
    if paced:
        # All connections open before any echoes; then all echo at once.
        conns = [connect(host, port, True) for _ in range(parallel)]
        print(f"tcp connections open at once: {len(conns)}")
    with concurrent.futures.ThreadPoolExecutor(parallel) as ex:
        res = list(ex.map(lambda i: tcp_echo(host, port, b"c%d\n" % i,
                                             conn=conns[i] if paced else None),
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


def burst(host, port, udp_port, count, paced=False, timeout=60):
    """Opens `count` TCP connections at once (`paced`: one after the other as QEMU's port
    forward takes them, see `connect`) to tests/programs/listen_burst, which accepts none of
    them until the UDP datagram "go" reaches `udp_port`; then each must get its own line
    echoed."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sel = selectors.DefaultSelector()
    conns = []
    for i in range(count):
        if paced:
            c = connect(host, port, True)
            c.setblocking(False)
        else:
            c = socket.socket(family, socket.SOCK_STREAM)
            c.setblocking(False)
            c.connect_ex((host, port))
        sel.register(c, selectors.EVENT_WRITE, i)
        conns.append(c)
    connected = {}
    deadline = time.time() + timeout
    while len(connected) < count and time.time() < deadline:
        for key, _ in sel.select(timeout=1):
            sel.unregister(key.fileobj)
            connected[key.data] = key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    refused = sum(1 for e in connected.values() if e != 0)
    errors = sorted({os.strerror(e) for e in connected.values() if e != 0})
    print(f"burst connects: {len(connected) - refused}/{count} ({refused} failed)"
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
        ok = burst(host, port, int(sys.argv[4]), int(sys.argv[5]), "paced" in sys.argv[6:])
    else:
        ok = tcp(host, port, int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]),
                 "paced" in sys.argv[7:])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
