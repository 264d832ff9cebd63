#!/usr/bin/python3
# Hostile and odd frames on the wire, crafted with scapy, for test_lab.sh:
#   hostile.py KIND IFACE SRC4 DST4 SRC6 DST6 DST_MAC PORT
# sends 3 frames of KIND out of IFACE. The expected verdict of each kind is
# in test_lab.sh (docs/policy.md, Semantics 6).
import logging
import sys

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import (Dot1AD, Dot1Q, Ether, IP, IPv6, IPv6ExtHdrDestOpt,  # noqa: E402
                       IPv6ExtHdrFragment, IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, Raw,
                       TCP, UDP, sendp)

kind, iface, s4, d4, s6, d6, mac, port = sys.argv[1:9]
port = int(port)
from scapy.all import ICMP, ICMPv6DestUnreach  # noqa: E402
# ICMP errors from the client about a node -> client tcp/7000 connection
# whose node port is PORT (the quoted packet went node -> client)
eth = Ether(dst=mac)
tcp = TCP(sport=40000, dport=port, flags="S")
frames = {
    "syn-fin-v4": eth / IP(src=s4, dst=d4) / TCP(sport=40000, dport=port, flags="SF"),
    "null-v6": eth / IPv6(src=s6, dst=d6) / TCP(sport=40000, dport=port, flags=""),
    "xmas-v4": eth / IP(src=s4, dst=d4) / TCP(sport=40000, dport=port, flags="FPU"),
    "totlen-v4": eth / IP(src=s4, dst=d4, len=1000) / tcp,
    "plen-v6": eth / IPv6(src=s6, dst=d6, plen=1000) / tcp,
    "ihl-v4": eth / IP(src=s4, dst=d4, ihl=4) / tcp,
    "frag-v4": eth / IP(src=s4, dst=d4, frag=100, proto=6) / Raw(b"\x00" * 32),
    "frag-v6": eth / IPv6(src=s6, dst=d6) / IPv6ExtHdrFragment(offset=100, nh=6) / Raw(b"\x00" * 32),
    "ext7-v6": eth / IPv6(src=s6, dst=d6) / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt()
    / IPv6ExtHdrRouting() / IPv6ExtHdrDestOpt() / IPv6ExtHdrRouting() / IPv6ExtHdrDestOpt()
    / IPv6ExtHdrRouting() / tcp,
    "ext2-v6": eth / IPv6(src=s6, dst=d6) / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() / tcp,
    "options-v4": eth / IP(src=s4, dst=d4, options=[b"\x01\x01\x01\x00"]) / tcp,
    "vlan-v4": Ether(dst=mac) / Dot1Q(vlan=7) / IP(src=s4, dst=d4) / tcp,
    "qinq-v6": Ether(dst=mac) / Dot1AD(vlan=7) / Dot1Q(vlan=8) / IPv6(src=s6, dst=d6) / tcp,
    "lldp": Ether(dst="01:80:c2:00:00:0e", type=0x88CC) / Raw(b"\x02\x07\x04" + b"\x00" * 40),
    "trunc-udp-v4": (eth / IP(src=s4, dst=d4, proto=17) / Raw(b"\x13\x88\x14")),
    "icmp-err-v4": eth / IP(src=s4, dst=d4) / ICMP(type=3, code=3)
    / IP(src=d4, dst=s4) / TCP(sport=port, dport=7000, flags="PA"),
    "icmp-err-v6": eth / IPv6(src=s6, dst=d6) / ICMPv6DestUnreach(code=4)
    / IPv6(src=d6, dst=s6) / TCP(sport=port, dport=7000, flags="PA"),
}
sendp(frames[kind], iface=iface, count=3, inter=0.02, verbose=False)
