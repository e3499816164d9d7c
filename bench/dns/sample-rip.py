#!/usr/bin/env python3
"""Where a Kiln guest spends its time: samples the vCPU's RIP through a QEMU monitor socket
(`info registers`) and prints the share of samples per function of the image.

Start QEMU (e.g. the command bench/dns/run.sh prints) with an extra
`-monitor unix:SOCKET,server=on,wait=off`, put it under load, then:
    bench/dns/sample-rip.py SOCKET IMAGE [SAMPLES]
A halted guest shows up in the wait path (`sched::thread::wait`). Each sample stops the vCPU
between translated blocks, so a trapping instruction (an MMIO access that waits for QEMU's
big lock) is where it is caught while it waits: read the figures as time, not as counts.
"""
import bisect
import collections
import re
import socket
import subprocess
import sys
import time


def main():
    path, image = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    mon = socket.socket(socket.AF_UNIX)
    mon.connect(path)
    mon.settimeout(5)

    def command(text):
        mon.sendall(text.encode() + b"\n")
        out = b""
        while not out.rstrip().endswith(b"(qemu)"):
            out += mon.recv(65536)
        return out.decode(errors="replace")

    command("")
    pcs = []
    for _ in range(count):
        m = re.search(r"RIP=([0-9a-f]+)", command("info registers"))
        if m:
            pcs.append(int(m.group(1), 16))
        time.sleep(0.005)
    nm = subprocess.run(["nm", "-C", "--defined-only", "-n", image],
                        capture_output=True, text=True, check=True).stdout
    syms = []
    for line in nm.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[1] in "tTwW":
            syms.append((int(parts[0], 16), parts[2]))
    addrs = [a for a, _ in syms]
    shares = collections.Counter()
    for pc in pcs:
        i = bisect.bisect_right(addrs, pc) - 1
        shares[syms[i][1][:160] if i >= 0 else hex(pc)] += 1
    print(f"{len(pcs)} samples")
    for name, n in shares.most_common(25):
        print(f"{100 * n / len(pcs):5.1f}%  {name}")


if __name__ == "__main__":
    main()
