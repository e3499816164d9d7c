#!/usr/bin/python3
"""Differential test: the same generated queries to dns-server and to Knot DNS, which serve
the same zone files on loopback; every answer must agree in rcode, flags, EDNS, question
(byte for byte, so the query's case), and answer/authority/additional (as sets of records,
names compared case-insensitively, as DNS does).

Two differences are allowed. The CD flag: dns-server copies it from the query (RFC 4035
§3.1.6), Knot DNS 3.2 clears it; the flags are compared without it. And, counted, a CNAME chain
that ends at a name that does not exist: dns-server answers NXDOMAIN (RFC 6604 §2.1); Knot DNS 3.2 answers NOERROR. Everything else in
those answers must still agree.

usage: differential.py --ours PORT --knot PORT --count N --seed S ORIGIN...
The zone names come from a zone transfer out of Knot (allowed from 127.0.0.1).
Uses dnspython (Debian python3-dnspython) and talks to 127.0.0.1 only.
"""

import argparse
import random
import sys

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.zone

SERVER = "127.0.0.1"
TYPES = ["A", "NS", "CNAME", "SOA", "PTR", "HINFO", "MX", "TXT", "AAAA", "SRV", "CAA", "DS",
         "ANY", "TYPE65280", "TYPE65281", "HTTPS", "NAPTR"]
OUTSIDE = ["example.com.", "test.", "kiln.tes.", "lab.test.example.", "in-addr.arpa.", ".",
           "51.198.in-addr.arpa.", "xkiln.test."]


def zone_names(origin_text, knot_port):
    """Every name of the zone, from a zone transfer out of Knot DNS (the reference)."""
    origin = dns.name.from_text(origin_text)
    zone = dns.zone.from_xfr(dns.query.xfr(SERVER, origin, port=knot_port, timeout=5,
                                           relativize=False),
                             relativize=False)
    names = set()
    delegations = set()
    for name, node in zone.nodes.items():
        names.add(name)
        if name != zone.origin and node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.NS):
            delegations.add(name)
        # empty non-terminals between the name and the apex
        parent = name
        while len(parent) > len(zone.origin):
            parent = parent.parent()
            names.add(parent)
    return zone.origin, sorted(names), sorted(delegations)


def random_label(rng):
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789-")
                   for _ in range(rng.randint(1, 12))).strip("-") or "x"


def random_case(rng, name):
    text = name.to_text()
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in text)


def query_names(rng, zones, count):
    out = []
    for _ in range(count):
        origin, names, delegations = rng.choice(zones)
        kind = rng.random()
        if kind < 0.45:
            name = rng.choice(names)
            if name.labels[0] == b"*":
                labels = [random_label(rng) for _ in range(rng.randint(1, 2))]
                name = dns.name.Name(tuple(l.encode() for l in labels) + name.labels[1:])
        elif kind < 0.65:
            name = dns.name.Name((random_label(rng).encode(),) + rng.choice(names).labels)
        elif kind < 0.8 and delegations:
            name = dns.name.Name((random_label(rng).encode(),) + rng.choice(delegations).labels)
        elif kind < 0.9:
            name = dns.name.from_text(rng.choice(OUTSIDE))
        else:
            name = rng.choice(names)
        text = random_case(rng, name) if rng.random() < 0.6 else name.to_text()
        out.append(dns.name.from_text(text))
    return out


def records(section):
    out = set()
    for rrset in section:
        for rd in rrset:
            out.add((rrset.name.to_text().lower(), rrset.ttl, rrset.rdclass, rrset.rdtype,
                     rd.to_digestable().hex()))
    return out


def describe(resp):
    return resp.to_text() if resp is not None else "(no answer)"


def ask(query, port, tcp):
    for _ in range(3):
        try:
            if tcp:
                return dns.query.tcp(query, SERVER, port=port, timeout=2)
            return dns.query.udp(query, SERVER, port=port, timeout=2, ignore_trailing=False,
                                 raise_on_truncation=False)
        except dns.exception.Timeout:
            continue
    return None


def compare(query, ours, knot):
    """Returns (problems, allowed): problems is a list of differences."""
    if ours is None or knot is None:
        return ["no answer from " + ("dns-server" if ours is None else "knot")], False
    problems = []
    allowed = False
    if ours.rcode() != knot.rcode():
        chain_end = (ours.rcode() == dns.rcode.NXDOMAIN and knot.rcode() == dns.rcode.NOERROR
                     and any(r.rdtype == dns.rdatatype.CNAME for r in ours.answer))
        if chain_end:
            allowed = True
        else:
            problems.append("rcode %s vs %s" % (dns.rcode.to_text(ours.rcode()),
                                                dns.rcode.to_text(knot.rcode())))
    # CD: RFC 4035 §3.1.6 says to copy it from the query; Knot DNS 3.2 clears it.
    if ours.flags & dns.flags.CD != query.flags & dns.flags.CD:
        problems.append("CD not copied from the query")
    if ours.flags & ~dns.flags.CD != knot.flags & ~dns.flags.CD:
        problems.append("flags %s vs %s" % (dns.flags.to_text(ours.flags),
                                            dns.flags.to_text(knot.flags)))
    if (ours.edns, ours.payload, ours.ednsflags) != (knot.edns, knot.payload, knot.ednsflags):
        problems.append("EDNS %s/%s/%s vs %s/%s/%s" % (ours.edns, ours.payload, ours.ednsflags,
                                                      knot.edns, knot.payload, knot.ednsflags))
    oq = [(r.name.to_text(), r.rdtype, r.rdclass) for r in ours.question]
    kq = [(r.name.to_text(), r.rdtype, r.rdclass) for r in knot.question]
    qq = [(r.name.to_text(), r.rdtype, r.rdclass) for r in query.question]
    if oq != qq:
        problems.append("question %s, asked %s" % (oq, qq))
    if kq != qq:
        problems.append("knot's question %s, asked %s" % (kq, qq))
    for label, a, b in (("answer", ours.answer, knot.answer),
                        ("authority", ours.authority, knot.authority),
                        ("additional", ours.additional, knot.additional)):
        if records(a) != records(b):
            problems.append(label + " differs")
    # The query's case is kept in the owner of the first answer.
    if ours.answer and query.question[0].name.labels != ours.answer[0].name.labels:
        if ours.answer[0].name == query.question[0].name:
            problems.append("first answer owner %s does not keep the query's case %s"
                            % (ours.answer[0].name, query.question[0].name))
    return problems, allowed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ours", type=int, required=True)
    parser.add_argument("--knot", type=int, required=True)
    parser.add_argument("--count", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("zones", nargs="+", help="zone origins")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    zones = [zone_names(origin, args.knot) for origin in args.zones]
    names = query_names(rng, zones, args.count)
    mismatches = 0
    allowed = 0
    by_kind = {}
    for i, qname in enumerate(names):
        qtype = rng.choice(TYPES)
        edns = rng.random() < 0.7
        query = dns.message.make_query(
            qname, qtype, use_edns=0 if edns else None,
            payload=rng.choice([512, 600, 1232, 4096]) if edns else None,
            want_dnssec=edns and rng.random() < 0.2)
        if rng.random() < 0.5:
            query.flags &= ~dns.flags.RD
        if rng.random() < 0.2:
            query.flags |= dns.flags.CD
        tcp = rng.random() < 0.25
        ours = ask(query, args.ours, tcp)
        knot = ask(query, args.knot, tcp)
        problems, was_allowed = compare(query, ours, knot)
        allowed += was_allowed
        kind = dns.rcode.to_text(knot.rcode()) if knot is not None else "none"
        by_kind[kind] = by_kind.get(kind, 0) + 1
        if problems:
            mismatches += 1
            if mismatches <= 5:
                print("MISMATCH #%d %s %s %s: %s" % (i, qname, qtype, "tcp" if tcp else "udp",
                                                    "; ".join(problems)))
                print("--- dns-server\n%s\n--- knot\n%s\n---" % (describe(ours), describe(knot)))
    kinds = " ".join("%s=%d" % kv for kv in sorted(by_kind.items()))
    print("differential: %d queries, %d mismatches, %d allowed RFC 6604 differences (%s)"
          % (len(names), mismatches, allowed, kinds))
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
