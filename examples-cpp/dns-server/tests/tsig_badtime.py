#!/usr/bin/python3
"""BADTIME check (RFC 8945 §5.2.3): sends dns-server a query signed with KEY but dated SKEW
seconds off (dnspython signs it; dig and kdig cannot backdate a query) and checks the answer:
NOTAUTH, a TSIG with error BADTIME whose MAC (computed here with Python's hmac, over the
query's MAC, the answer and the TSIG variables) verifies, the query's time signed, and the
server's time in the other data. Prints "BADTIME ok: server time T" and exits 0, else 1.

usage: tsig_badtime.py HOST PORT ALGORITHM:NAME:BASE64SECRET SKEW [tcp]
Uses dnspython (Debian python3-dnspython).
"""

import base64
import hashlib
import hmac
import socket
import struct
import sys
import time

import dns.message
import dns.name
import dns.query
import dns.tsig

HASHES = {"hmac-sha1": hashlib.sha1, "hmac-sha256": hashlib.sha256,
          "hmac-sha512": hashlib.sha512}
ALGORITHMS = {"hmac-sha1": dns.tsig.HMAC_SHA1, "hmac-sha256": dns.tsig.HMAC_SHA256,
              "hmac-sha512": dns.tsig.HMAC_SHA512}


def fail(why):
    print("BADTIME check failed: " + why)
    sys.exit(1)


def main():
    host, port, spec, skew = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    tcp = len(sys.argv) > 5 and sys.argv[5] == "tcp"
    alg, name, secret = spec.split(":")
    keyname = dns.name.from_text(name)
    secret = base64.b64decode(secret)
    key = dns.tsig.Key(keyname, secret, ALGORITHMS[alg])
    query = dns.message.make_query("www.glue.test.", "A")
    query.use_tsig(key)
    real = time.time
    dated = int(real()) + skew
    time.time = lambda: dated
    wire = query.to_wire()
    time.time = real
    if tcp:
        with socket.create_connection((host, port), timeout=5) as s:
            s.sendall(struct.pack("!H", len(wire)) + wire)
            data = b""
            while len(data) < 2 or len(data) < 2 + struct.unpack("!H", data[:2])[0]:
                chunk = s.recv(65535)
                if not chunk:
                    fail("connection closed")
                data += chunk
            resp = data[2:]
    else:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.settimeout(5)
            s.sendto(wire, (host, port))
            resp = s.recv(65535)

    # The answer's last record is the TSIG: owner, type, class, TTL, RDLEN, RDATA.
    owner = keyname.to_wire()
    alg_wire = dns.name.from_text(alg).to_wire()
    mac_len = HASHES[alg]().digest_size
    rdlen = len(alg_wire) + 6 + 2 + 2 + mac_len + 2 + 2 + 2 + 6
    start = len(resp) - (len(owner) + 10 + rdlen)
    if start < 12:
        fail("answer too short: %r" % resp)
    rr = resp[start:]
    if rr[:len(owner)].lower() != owner.lower():
        fail("no TSIG of %s at the end: %r" % (name, rr))
    at = len(owner)
    rtype, rclass, ttl, got_rdlen = struct.unpack("!HHIH", rr[at:at + 10])
    if (rtype, rclass, ttl, got_rdlen) != (250, 255, 0, rdlen):
        fail("TSIG header %r" % ((rtype, rclass, ttl, got_rdlen),))
    rdata = rr[at + 10:]
    if rdata[:len(alg_wire)].lower() != alg_wire:
        fail("algorithm %r" % rdata[:len(alg_wire)])
    p = len(alg_wire)
    time_signed = int.from_bytes(rdata[p:p + 6], "big")
    fudge, got_mac_len = struct.unpack("!HH", rdata[p + 6:p + 10])
    mac = rdata[p + 10:p + 10 + mac_len]
    q = p + 10 + mac_len
    orig_id, error, other_len = struct.unpack("!HHH", rdata[q:q + 6])
    other = rdata[q + 6:]
    rcode = resp[3] & 0xF
    if rcode != 9 or error != 18 or got_mac_len != mac_len or other_len != 6:
        fail("rcode %d, TSIG error %d, MAC size %d, other len %d" % (rcode, error, got_mac_len,
                                                                    other_len))
    if time_signed != dated:
        fail("time signed %d, the query's was %d" % (time_signed, dated))
    if orig_id != struct.unpack("!H", resp[:2])[0]:
        fail("original ID %d" % orig_id)
    server_time = int.from_bytes(other, "big")
    # RFC 8945 §4.3.2: the query's MAC, the answer without its TSIG, the TSIG variables.
    arcount = struct.unpack("!H", resp[10:12])[0] - 1
    message = resp[:10] + struct.pack("!H", arcount) + resp[12:start]
    variables = (owner.lower() + struct.pack("!HI", 255, 0) + alg_wire + rdata[p:p + 6] +
                 struct.pack("!HHH", fudge, error, other_len) + other)
    expected = hmac.new(secret, struct.pack("!H", len(query.mac)) + query.mac + message +
                        variables, HASHES[alg]).digest()
    if not hmac.compare_digest(expected, mac):
        fail("the MAC does not verify")
    print("BADTIME ok: server time %d, query dated %d" % (server_time, dated))


if __name__ == "__main__":
    main()
