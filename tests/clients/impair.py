#!/usr/bin/env python3
"""A user-space netem between a guest and the host, run by the tests inside their private
network namespace: the same impairments as `tc qdisc add ... netem loss L% reorder R%
duplicate D%`, applied to every Ethernet frame in BOTH directions.

Why not tc netem: sch_netem is a kernel option (CONFIG_NET_SCH_NETEM) that not every kernel
has (the one these tests were written on does not: `tc qdisc add ... netem` fails with
"Specified qdisc kind is unknown"), and netem on a tap's egress impairs only host->guest; the
guest->host half would need an ifb device on top. This relay impairs both halves the same
way on any kernel, and counts what it did.

Wiring (all inside the namespace):
  QEMU --tap GUEST_TAP (no address, ARP off, no IPv6 address) <-AF_PACKET-> this relay
       <-/dev/net/tun-> HOST_TAP (the host's 10.77.0.1 / fd77::1)
Frames the guest sends arrive on GUEST_TAP and are written into HOST_TAP's tun fd (the host
receives them); frames the host sends to HOST_TAP are read from its tun fd and transmitted on
GUEST_TAP (QEMU receives them).

Per direction and frame: dropped with probability LOSS; else sent twice with probability
DUPLICATE; else, with probability REORDER, held back and sent after the next frame of that
direction (or after 10 ms if none follows). Prints `impair: STATS` lines (counters per
direction) every second and at the end (SIGTERM). Usage:
  impair.py HOST_TAP GUEST_TAP LOSS% REORDER% DUPLICATE% SEED"""
import fcntl
import os
import random
import select
import signal
import socket
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
HOLD_SECS = 0.010


class Direction:
    def __init__(self, name, send, rng, loss, reorder, duplicate):
        self.name, self.send, self.rng = name, send, rng
        self.loss, self.reorder, self.duplicate = loss, reorder, duplicate
        self.held = None
        self.held_at = 0.0
        self.counts = {"frames": 0, "dropped": 0, "duplicated": 0, "reordered": 0}

    def frame(self, data):
        c = self.counts
        c["frames"] += 1
        r = self.rng.random()
        if r < self.loss:
            c["dropped"] += 1
            return
        r = self.rng.random()
        if r < self.duplicate:
            c["duplicated"] += 1
            self.out(data)
            self.out(data)
            self.release()
            return
        if self.held is None and self.rng.random() < self.reorder:
            c["reordered"] += 1
            self.held, self.held_at = data, time.monotonic()
            return
        self.out(data)
        self.release()

    def release(self):
        if self.held is not None:
            held, self.held = self.held, None
            self.out(held)

    def expire(self, now):
        if self.held is not None and now - self.held_at >= HOLD_SECS:
            self.release()

    def out(self, data):
        try:
            self.send(data)
        except OSError:
            pass  # a full queue drops the frame, as a wire would

    def stats(self):
        return f"{self.name} " + " ".join(f"{k}={v}" for k, v in self.counts.items())


def main():
    host_tap, guest_tap = sys.argv[1], sys.argv[2]
    loss, reorder, dup = (float(a) / 100 for a in sys.argv[3:6])
    seed = int(sys.argv[6])
    tun = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(tun, TUNSETIFF, struct.pack("16sH", host_tap.encode(), IFF_TAP | IFF_NO_PI))
    pkt = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    pkt.bind((guest_tap, 0))
    pkt.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    to_host = Direction("guest->host", lambda d: os.write(tun, d), random.Random(seed),
                        loss, reorder, dup)
    to_guest = Direction("host->guest", pkt.send, random.Random(seed + 1), loss, reorder, dup)
    running = [True]

    def stop(*_):
        running[0] = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("impair: ready", flush=True)
    last = time.monotonic()
    while running[0]:
        try:
            ready, _, _ = select.select([tun, pkt], [], [], HOLD_SECS)
        except InterruptedError:
            continue
        if tun in ready:
            for _ in range(64):
                try:
                    to_guest.frame(os.read(tun, 65536))
                except BlockingIOError:
                    break
                if not select.select([tun], [], [], 0)[0]:
                    break
        if pkt in ready:
            for _ in range(64):
                data, addr = pkt.recvfrom(65536)
                if addr[2] != PACKET_OUTGOING:
                    to_host.frame(data)
                if not select.select([pkt], [], [], 0)[0]:
                    break
        now = time.monotonic()
        to_host.expire(now)
        to_guest.expire(now)
        if now - last >= 1:
            last = now
            print(f"impair: {to_host.stats()}; {to_guest.stats()}", flush=True)
    print(f"impair: {to_host.stats()}; {to_guest.stats()}", flush=True)


if __name__ == "__main__":
    main()
