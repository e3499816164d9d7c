#!/usr/bin/env python3
"""Real clients for the echo servers (examples-c/udp-echo, tcp-echo), run by tests/net.rs
inside the test's private network namespace. Prints one `name: result` line per check and
exits non-zero if any failed. Usage: echo_client.py udp|tcp|bulk HOST PORT [options]:
  udp HOST PORT COUNT
  tcp HOST PORT SEQUENTIAL PARALLEL MEGABYTES
  bulk HOST PORT MEGABYTES   one connection, MEGABYTES MiB each way, with the time it took"""
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


def tcp_echo(host, port, data, timeout=20):
    """Sends `data` and reads the echo at the same time (never blocked in one while the other
    could go on: a client stuck in send while its receive buffer fills would stall the
    server's echo and then its own send); True if every byte came back unchanged. Fails
    after `timeout` seconds without progress."""
    c = socket.create_connection((host, port), timeout=timeout)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c.setblocking(False)
    sent = hashlib.sha256(data).hexdigest()
    got = hashlib.sha256()
    received = 0
    view = memoryview(data)
    off = 0
    sel = selectors.DefaultSelector()
    sel.register(c, selectors.EVENT_READ | selectors.EVENT_WRITE)
    while received < len(data):
        events = sel.select(timeout)
        if not events:
            break  # no progress for `timeout` seconds
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
    with concurrent.futures.ThreadPoolExecutor(parallel) as ex:
        res = list(ex.map(lambda i: tcp_echo(host, port, b"c%d\n" % i), range(parallel)))
    print(f"tcp concurrent connections: {sum(res)}/{parallel} in {time.time() - t:.1f}s")
    ok &= sum(res) == parallel
    if megabytes:
        t = time.time()
        big = os.urandom(megabytes << 20)
        same = tcp_echo(host, port, big, timeout=60)
        print(f"tcp {megabytes} MiB each way, equal sha256: {same} in {time.time() - t:.1f}s")
        ok &= same
    return ok


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
    else:
        ok = tcp(host, port, int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
