#!/usr/bin/env python3
"""bench/clock/measure.py CMD...: runs CMD (a `kiln run` of tests/programs/clock_report),
stamps each `clock REALTIME MONOTONIC` line with the host's time as it arrives, and prints:
the wall clock's offset from the host's at the first report and at the last, and the rate of
CLOCK_MONOTONIC and CLOCK_REALTIME against the host's clock (least squares over the reports
after the first 10 s), in ppm."""
import subprocess
import sys
import time

proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
samples = []
for line in proc.stdout:
    host = time.time_ns()
    words = line.split()
    if len(words) == 3 and words[0] == "clock":
        samples.append((host, int(words[1]), int(words[2])))
proc.wait()
if len(samples) < 50:
    sys.exit(f"only {len(samples)} reports (exit {proc.returncode})")


def slope(points):
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    num = sum((x - mx) * (y - my) for x, y in points)
    den = sum((x - mx) ** 2 for x, _ in points)
    return num / den


settled = [s for s in samples if s[2] > 10e9]
mono = slope([(h, m) for h, _, m in settled])
real = slope([(h, r) for h, r, _ in settled])
first, last = samples[0], samples[-1]
print(f"reports: {len(samples)} over {(last[0] - first[0]) / 1e9:.0f} s")
print(f"wall clock offset at the first report: {(first[1] - first[0]) / 1e6:+.1f} ms")
print(f"wall clock offset at the last report: {(last[1] - last[0]) / 1e6:+.1f} ms")
print(f"CLOCK_MONOTONIC rate vs host: {(mono - 1) * 1e6:+.1f} ppm")
print(f"CLOCK_REALTIME rate vs host: {(real - 1) * 1e6:+.1f} ppm")
