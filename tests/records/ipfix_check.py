#!/usr/bin/env python3
"""Compare decoded IPFIX (nfdump JSON, tshark JSON) with the OCSF records a
Ward sink was given (rec_tool --expect, or the agent's own file sink).

    ipfix_check.py nfdump|tshark|stream|resumed EXPECT.json GOT.json [ARGS]

Used by tests/records/test_ipfix.sh and tests/netns/test_flows.sh."""
import json, socket, sys

what, expect_file, got_file = sys.argv[1:4]
args = sys.argv[4:]
EVENT = {"open": 1, "close": 2, "traffic": 5, "refuse": 3, "rate_limit": 3, "audit": 4}

def ifindex(name):
    try:
        return socket.if_nametoindex(name)
    except OSError:
        return 0

def expected():
    out = []
    for line in open(expect_file):
        j = json.loads(line)
        if j.get("class_uid") != 4001:
            continue  # lost, policy and agent records: not flows, not exported
        src, dst = j.get("src_endpoint", {}), j.get("dst_endpoint", {})
        ci, tr = j.get("connection_info", {}), j.get("traffic", {})
        um = j.get("unmapped", {})
        icmp = ci["protocol_num"] in (1, 58)
        ingress = ci["direction_id"] == 1
        ifname = j.get("device", {}).get("interface_name", "")
        code = j["metadata"]["event_code"]
        v6 = ":" in src["ip"]
        out.append({
            "seq": j["metadata"]["sequence"], "v6": v6,
            # a rate-limit record names the client only: no destination
            "src": src["ip"], "dst": dst.get("ip", "::" if v6 else "0.0.0.0"),
            "proto": ci["protocol_num"],
            "sport": 0 if icmp else src.get("port", 0), "dport": 0 if icmp else dst.get("port", 0),
            "icmp": (um.get("icmp_type", 0), um.get("icmp_code", 0)) if icmp else (0, 0),
            "pkts": tr.get("packets_out", 0), "bytes": tr.get("bytes_out", 0),
            "rpkts": tr.get("packets_in", 0), "rbytes": tr.get("bytes_in", 0),
            "dir": 0 if ingress else 1, "first": j["start_time"], "last": j["end_time"],
            "event": EVENT[code], "rule": j["firewall_rule"]["uid"],
            "flags": ci.get("tcp_flags", 0) if ci["protocol_num"] == 6 else 0,
            # dropped packets: by ACL deny (1) or by the policer (10); a flow
            # revoked by a new policy had its packets forwarded until then
            "drop": {"refuse": 1, "rate_limit": 10}.get(code, 0),
            "in_if": ifindex(ifname) if ingress else 0, "out_if": 0 if ingress else ifindex(ifname),
        })
    return out

def ms(text):  # nfdump's "2025-01-01T00:00:00.123", printed in UTC (TZ=UTC)
    import datetime
    t = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc)
    return round(t.timestamp() * 1000)

def nfdump_rec(r):
    v6 = "src6_addr" in r
    icmp = r["proto"] in (1, 58)
    return {"src": r["src6_addr" if v6 else "src4_addr"], "dst": r["dst6_addr" if v6 else "dst4_addr"],
            "proto": r["proto"], "sport": 0 if icmp else r["src_port"],
            "dport": 0 if icmp else r["dst_port"],
            "icmp": (r["icmp_type"], r["icmp_code"]) if icmp else (0, 0),
            "pkts": r["in_packets"], "bytes": r["in_bytes"],
            "rpkts": r["out_packets"], "rbytes": r["out_bytes"], "dir": r["direction"],
            "first": ms(r["first"]), "last": ms(r["last"]),
            "in_if": r.get("input_snmp", 0), "out_if": r.get("output_snmp", 0)}

def as_list(v):
    return v if isinstance(v, list) else [v]

def tshark_messages():
    """[(seq, domain, [template ids], [records])] in stream order."""
    msgs = []
    for pkt in json.load(open(got_file)) or []:
        layers = pkt["_source"]["layers"]
        for cf in as_list(layers.get("cflow", [])):
            tmpl, recs = [], []
            for key, s in cf.items():
                if not key.startswith("Set "):
                    continue
                for s1 in as_list(s):
                    if s1["cflow.flowset_id"] == "2":
                        tmpl += [int(t) for t in as_list(s1.get("cflow.template_id", []))]
                        for k, t in s1.items():
                            if k.startswith("Template"):
                                tmpl += [int(x) for x in as_list(t.get("cflow.template_id", []))]
                        continue
                    for k, f in s1.items():
                        if k.startswith("Flow "):
                            for f1 in as_list(f):
                                recs.append(tshark_rec(f1))
            msgs.append((int(cf["cflow.sequence"]), int(cf["cflow.od_id"]), tmpl, recs))
    return msgs

def tshark_rec(f):
    v6 = "cflow.srcaddrv6" in f
    octets, packets = as_list(f["cflow.octets"]), as_list(f["cflow.packets"])
    if v6:
        icmp = (int(f.get("cflow.icmp_ipv6_type", 0)), int(f.get("cflow.icmp_ipv6_code", 0)))
    else:
        icmp = divmod(int(f.get("cflow.icmp_type_code_ipv4", "0"), 16), 256)
    fs = f.get("Forwarding Status", {})
    rule = f.get("cflow.enterprise_private_entry", "")
    return {"src": f["cflow.srcaddrv6" if v6 else "cflow.srcaddr"],
            "dst": f["cflow.dstaddrv6" if v6 else "cflow.dstaddr"],
            "proto": int(f["cflow.protocol"]), "sport": int(f["cflow.srcport"]),
            "dport": int(f["cflow.dstport"]), "icmp": icmp,
            "pkts": int(packets[0]), "bytes": int(octets[0]),
            "rpkts": int(packets[1]), "rbytes": int(octets[1]), "dir": int(f["cflow.direction"]),
            "event": int(f["cflow.firewall_event"]),
            "rule": bytes.fromhex(rule.replace(":", "")).decode() if rule else "",
            "flags": int(f["cflow.tcpflags"], 16),
            "drop": int(fs.get("cflow.forwarding_status_drop_code", 0)),
            "in_if": int(f["cflow.inputint"]), "out_if": int(f["cflow.outputint"])}

def compare(want, got, keys):
    bad = []
    if len(got) != len(want):
        bad.append("decoded %d records, expected %d" % (len(got), len(want)))
    for i, (w, g) in enumerate(zip(want, got)):
        diff = {k: (g.get(k), w[k]) for k in keys if g.get(k) != w[k]}
        if diff:
            bad.append("record %d (seq %d): got/want %s" % (i, w["seq"], diff))
    return bad

want = expected()
bad = []
if what == "nfdump":
    got = [nfdump_rec(r) for r in json.load(open(got_file))]
    bad = compare(want, got, ["src", "dst", "proto", "sport", "dport", "icmp", "pkts", "bytes",
                              "rpkts", "rbytes", "dir", "first", "last", "in_if", "out_if"])
    if not any(w["v6"] for w in want) or all(w["v6"] for w in want):
        bad.append("the records should mix IPv4 and IPv6")
elif what == "tshark":
    got = [r for m in tshark_messages() for r in m[3]]
    bad = compare(want, got, ["src", "dst", "proto", "sport", "dport", "icmp", "pkts", "bytes",
                              "rpkts", "rbytes", "dir", "event", "rule", "flags", "drop",
                              "in_if", "out_if"])
elif what == "stream":  # args: domain, min templates, max templates
    domain, tmin, tmax = int(args[0]), int(args[1]), int(args[2])
    msgs = tshark_messages()
    seq, ntmpl, seen_data = 0, 0, False
    for i, (s, od, tmpl, recs) in enumerate(msgs):
        if od != domain:
            bad.append("message %d: observation domain %d, want %d" % (i, od, domain))
        if tmpl:
            ntmpl += 1
            if sorted(tmpl) != [256, 257]:
                bad.append("message %d: templates %s, want 256 and 257" % (i, tmpl))
        if recs and ntmpl == 0:
            bad.append("message %d: data before any template" % i)
        if s != seq % 2**32:
            bad.append("message %d: sequence %d, want %d (data records before it)" % (i, s, seq))
        seq += len(recs)
    if not tmin <= ntmpl <= tmax:
        bad.append("%d template messages, want %d..%d" % (ntmpl, tmin, tmax))
    if seq != len(want):
        bad.append("%d data records in the stream, want %d" % (seq, len(want)))
elif what == "resumed":  # a later connection: templates first, records where their sequence says
    msgs = tshark_messages()
    keys = ["src", "dst", "proto", "sport", "dport", "pkts", "rpkts", "event", "rule"]
    if not msgs or not msgs[0][2] or msgs[0][3]:
        bad.append("the connection does not start with a template message")
    nrec = 0
    for i, (s, od, tmpl, recs) in enumerate(msgs):
        for k, g in enumerate(recs):
            w = want[s + k] if s + k < len(want) else None
            if w is None or any(g[x] != w[x] for x in keys):
                bad.append("message %d record %d (sequence %d): %s, want %s" % (i, k, s + k, g, w))
        nrec += len(recs)
        if recs and s + len(recs) == len(want):
            break
    else:
        bad.append("the last record did not arrive on the new connection")
    if not nrec:
        bad.append("no records on the new connection")
for b in bad[:6]:
    print(b)
if len(bad) > 6:
    print("... %d more" % (len(bad) - 6))
sys.exit(1 if bad else 0)
