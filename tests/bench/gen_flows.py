#!/usr/bin/env python3
"""A day of flow records from a busy node, for the ward suggest / replay bench.

    gen_flows.py --out DIR --records N [--files K] [--seed S] [--jobs J]

Writes DIR/flows.json.1.gz .. DIR/flows.json.K.gz (rotated and compressed as
the file sink leaves them), OCSF lines laid out field for field as
agent/rec_ocsf.c writes them, ~1.2 KB each, times spread over 24 hours.
Deterministic for a seed. Addresses are documentation ranges only.

The node (an inference/training GPU host) sees:
  - inbound: API clients (tcp 8000, 8443) from 4 /24s and 2 IPv6 /64s, a
    metrics scraper (tcp 9100), bastions (tcp 22), training peers (tcp
    29500-29531, udp 4791);
  - outbound: DNS (udp 53), a registry and object store (tcp 443), peers
    (tcp 29500-29531), NTP (udp 123);
  - a scan from random sources to random ports, refused (Refuse records).
Record mix: Open 44 %, Close 44 %, Traffic 5 %, audit 4 %, Refuse 3 %, and a
records-lost record now and then.
"""
import argparse
import gzip
import ipaddress
import multiprocessing
import os
import random
import sys

DAY_MS = 86_400_000
BASE_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z
NODE4, NODE6 = "192.0.2.10", "2001:db8:ffff::10"


def v4_pool(prefixes, hosts, rnd):
    out = []
    for p in prefixes:
        net = ipaddress.ip_network(p)
        out += [str(net[rnd.randrange(1, net.num_addresses - 1)]) for _ in range(hosts)]
    return sorted(set(out))


def v6_pool(prefixes, hosts, rnd):
    out = []
    for p in prefixes:
        net = ipaddress.ip_network(p)
        out += [str(net[rnd.randrange(1, 1 << 20)]) for _ in range(hosts)]
    return sorted(set(out))


def services(rnd):
    clients = v4_pool(["198.51.100.0/24", "203.0.113.0/24", "192.0.2.0/25", "198.51.100.0/25"], 60, rnd)
    clients6 = v6_pool(["2001:db8:10::/64", "2001:db8:11::/64"], 40, rnd)
    peers = [f"192.0.2.{i}" for i in range(130, 162)]
    peers6 = [f"2001:db8:20::{i:x}" for i in range(1, 17)]
    # (weight, direction 1 in / 2 out, proto, ports, remotes)
    return [
        (30, 1, 6, [8000], clients + clients6),
        (10, 1, 6, [8443], clients),
        (4, 1, 6, [9100], ["198.51.100.250", "2001:db8:10::fe"]),
        (1, 1, 6, [22], ["192.0.2.5", "192.0.2.6"]),
        (15, 1, 6, list(range(29500, 29532)), peers + peers6),
        (5, 1, 17, [4791], peers),
        (12, 2, 17, [53], ["192.0.2.53", "2001:db8:53::53"]),
        (10, 2, 6, [443], ["203.0.113.80", "203.0.113.81", "203.0.113.82", "2001:db8:443::1"]),
        (10, 2, 6, list(range(29500, 29532)), peers + peers6),
        (3, 2, 17, [123], ["192.0.2.123"]),
        (1, 1, 1, [8], clients[:20]),
    ]


HEAD = ('{"class_uid":4001,"class_name":"Network Activity","category_uid":4,'
        '"category_name":"Network Activity","activity_id":%d,"activity_name":"%s",'
        '"type_uid":4001%02d,"type_name":"Network Activity: %s","severity_id":%d,'
        '"severity":"%s","time":%d,"start_time":%d,"end_time":%d,"duration":%d,')
META = ('"metadata":{"version":"1.9.0-dev","product":{"name":"Ward","vendor_name":"Ward",'
        '"version":"0.2.0"},"sequence":%d,"log_name":"flows","event_code":"%s",'
        '"profiles":["host","security_control"]},"device":{"hostname":"gpu-node-7","type_id":1,'
        '"type":"Server","interface_name":"bond0"},')
POLICY = (',"firewall_rule":{"uid":"%s","name":"%s","type":"%s","version":"42"},'
          '"policy":{"name":"gpu-node-baseline",'
          '"uid":"d91f6786a2cf43ca658d2631454d701158f2b84030f003b1ce2f1f67234cf8fd",'
          '"version":"42","is_applied":true}')
PNAME = {6: "tcp", 17: "udp", 1: "icmp", 58: "ipv6-icmp"}


def record(kind, seq, t, dirn, proto, remote, port, rnd, count=0):
    v6 = ":" in remote
    local = NODE6 if v6 else NODE4
    src, dst = (remote, local) if dirn == 1 else (local, remote)
    sport = 0 if kind in ("refuse", "audit") else rnd.randrange(32768, 61000)
    act = {"open": (1, "Open"), "close": (2, "Close"), "traffic": (6, "Traffic"),
           "refuse": (5, "Refuse"), "audit": (6, "Traffic")}[kind]
    denied = kind == "refuse"
    start = t - (rnd.randrange(1, 600_000) if kind in ("close", "traffic") else rnd.randrange(0, 2000))
    out = [HEAD % (act[0], act[1], act[0], act[1], 2 if denied else 1,
                   "Low" if denied else "Informational", t, start, t, t - start)]
    if count:
        out.append('"count":%d,' % count)
    if denied:
        out.append('"action_id":2,"action":"Denied","disposition_id":2,"disposition":"Blocked",')
    elif kind == "audit":
        out.append('"action_id":3,"action":"Observed","disposition_id":17,"disposition":"Logged",')
    else:
        out.append('"action_id":1,"action":"Allowed","disposition_id":1,"disposition":"Allowed",')
    if kind == "close":
        out.append('"status_detail":"%s",' % rnd.choice(("fin", "fin", "idle", "rst")))
    out.append(META % (seq, kind))
    ifs = ',"interface_name":"bond0"'
    if proto in (6, 17):
        out.append('"src_endpoint":{"ip":"%s","port":%d%s},"dst_endpoint":{"ip":"%s","port":%d%s},'
                   % (src, sport, ifs if dirn == 2 else "", dst, port, ifs if dirn == 1 else ""))
    else:
        out.append('"src_endpoint":{"ip":"%s"%s},"dst_endpoint":{"ip":"%s"%s},'
                   % (src, ifs if dirn == 2 else "", dst, ifs if dirn == 1 else ""))
    out.append('"connection_info":{"protocol_num":%d,"protocol_name":"%s","direction_id":%d,'
               '"direction":"%s","protocol_ver_id":%d%s},'
               % (proto, PNAME.get(proto, str(proto)), dirn, "Inbound" if dirn == 1 else "Outbound",
                  6 if v6 else 4, ',"tcp_flags":%d' % (2 if kind in ("refuse", "audit", "open") else 27)
                  if proto == 6 else ""))
    if kind in ("close", "traffic"):
        po, pi = rnd.randrange(2, 5000), rnd.randrange(1, 5000)
        bo, bi = po * rnd.randrange(60, 1400), pi * rnd.randrange(60, 1400)
    else:
        po, pi = max(count, 1), 0
        bo, bi = po * 74, 0
    out.append('"traffic":{"packets_out":%d,"packets_in":%d,"packets":%d,"bytes_out":%d,'
               '"bytes_in":%d,"bytes":%d}' % (po, pi, po + pi, bo, bi, bo + bi))
    if denied or kind == "audit":
        rule, rtype = ("default-ingress" if dirn == 1 else "default-egress"), "default"
    else:
        rule, rtype = "rule-%d" % (port % 7), "rule"
    out.append(POLICY % (rule, rule, rtype))
    if proto in (1, 58):
        out.append(',"unmapped":{"icmp_type":%d,"icmp_code":0}' % port)
    out.append("}\n")
    return "".join(out)


def lost(seq, t):
    return ('{"class_uid":4001,"class_name":"Network Activity","category_uid":4,'
            '"category_name":"Network Activity","activity_id":99,"activity_name":"Records Lost",'
            '"type_uid":400199,"type_name":"Network Activity: Records Lost","severity_id":3,'
            '"severity":"Medium","time":%d,"start_time":%d,"end_time":%d,"count":%d,'
            '"message":"records lost: at the record queue (full)","status_id":2,"status":"Failure",'
            '"metadata":{"version":"1.9.0-dev","product":{"name":"Ward","vendor_name":"Ward",'
            '"version":"0.2.0"},"sequence":%d,"log_name":"flows","event_code":"lost",'
            '"profiles":["host","security_control"]},"device":{"hostname":"gpu-node-7","type_id":1,'
            '"type":"Server"},"src_endpoint":{"hostname":"gpu-node-7"}}\n' % (t, t - 900, t, 17, seq))


def write_file(args):
    path, first, n, total, seed = args
    rnd = random.Random(seed * 1_000_003 + first)
    svc = services(random.Random(seed))
    weights = [s[0] for s in svc]
    kinds = ["open"] * 44 + ["close"] * 44 + ["traffic"] * 5 + ["audit"] * 4 + ["refuse"] * 3
    with gzip.open(path, "wt", compresslevel=1) as f:
        buf = []
        for i in range(first, first + n):
            t = BASE_MS + i * DAY_MS // total
            kind = rnd.choice(kinds)
            if i % 250_000 == 249_999:
                buf.append(lost(i + 1, t))
                continue
            if kind == "refuse":  # a scan: random source, random port
                remote = "203.0.113.%d" % rnd.randrange(1, 255) if rnd.random() < 0.7 else \
                    "2001:db8:bad:%x::%x" % (rnd.randrange(65536), rnd.randrange(65536))
                buf.append(record(kind, i + 1, t, 1, 6, remote, rnd.randrange(1, 65536), rnd,
                                  count=rnd.randrange(1, 4)))
            else:
                _, dirn, proto, ports, remotes = rnd.choices(svc, weights)[0]
                buf.append(record(kind, i + 1, t, dirn, proto, rnd.choice(remotes), rnd.choice(ports),
                                  rnd, count=1 if kind == "audit" else 0))
            if len(buf) >= 4096:
                f.write("".join(buf))
                buf = []
        f.write("".join(buf))
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--records", type=int, default=10_000_000)
    ap.add_argument("--files", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    per = -(-a.records // a.files)
    work = []
    for k in range(a.files):
        first = k * per
        n = min(per, a.records - first)
        if n <= 0:
            break
        # flows.json.1.gz is the newest: the last part of the day
        work.append((os.path.join(a.out, "flows.json.%d.gz" % (a.files - k)), first, n, a.records, a.seed))
    with multiprocessing.Pool(a.jobs) as pool:
        for p in pool.imap_unordered(write_file, work):
            print("wrote", p, file=sys.stderr)


if __name__ == "__main__":
    main()
