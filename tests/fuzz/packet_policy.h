/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The fixed policy of fuzz_packet (and the addresses gen_seeds aims at):
 * every kind of rule the datapath has an entry for, both families, an
 * except, a deny inside an allowed range, audit, proto any, numeric
 * protocols (incl. 0, 51 = AH and 59 = no next header, which IPv6 walks
 * treat specially), an ND-covering deny, defaults deny in / allow out.
 */
#ifndef WARD_FUZZ_PACKET_POLICY_H
#define WARD_FUZZ_PACKET_POLICY_H

#define PACKET_POLICY                                                                      \
	"{\"version\":1,\"name\":\"fuzz-packet\",\"mode\":\"enforce\",\n"                    \
	" \"defaults\":{\"ingress\":\"deny\",\"egress\":\"allow\",\"log\":\"denied\"},\n"     \
	" \"groups\":{\n"                                                                    \
	"  \"clients\":{\"cidrs\":[\"198.51.100.0/24\",\"2001:db8:1::/64\"],\n"              \
	"             \"except\":[\"198.51.100.128/25\",\"2001:db8:1::ff\"]},\n"            \
	"  \"mgmt\":[\"192.0.2.0/28\",\"2001:db8:0:1::/64\"],\n"                           \
	"  \"bad\":[\"203.0.113.0/24\",\"2001:db8:bad::/48\"]},\n"                          \
	" \"ingress\":[\n"                                                                   \
	"  {\"id\":\"ssh\",\"from\":[\"mgmt\"],\"proto\":\"tcp\",\"ports\":[22]},\n"         \
	"  {\"id\":\"web\",\"from\":[\"clients\",\"mgmt\"],\"proto\":\"tcp\",\"ports\":[80,443,\"8000-8999\"]},\n" \
	"  {\"id\":\"web-deny\",\"action\":\"deny\",\"from\":[\"clients\"],\"proto\":\"tcp\",\"ports\":[8080]},\n" \
	"  {\"id\":\"dns\",\"from\":[\"any\"],\"proto\":\"udp\",\"ports\":[53]},\n"          \
	"  {\"id\":\"ping\",\"from\":[\"any\"],\"proto\":\"icmp\",\"icmp_types\":[\"echo-request\",0]},\n" \
	"  {\"id\":\"ping6\",\"from\":[\"any\"],\"proto\":\"icmpv6\",\"icmp_types\":[\"echo-request\",0]},\n" \
	"  {\"id\":\"icmp6-deny\",\"action\":\"deny\",\"from\":[\"bad\"],\"proto\":\"icmpv6\"},\n" \
	"  {\"id\":\"gre-audit\",\"action\":\"deny\",\"audit\":true,\"from\":[\"any\"],\"proto\":47},\n" \
	"  {\"id\":\"sctp\",\"from\":[\"clients\"],\"proto\":132},\n"                     \
	"  {\"id\":\"bad-any\",\"action\":\"deny\",\"from\":[\"bad\"],\"proto\":\"any\"},\n" \
	"  {\"id\":\"proto0\",\"from\":[\"mgmt\"],\"proto\":0},\n"                         \
	"  {\"id\":\"ah\",\"from\":[\"mgmt\"],\"proto\":51},\n"                            \
	"  {\"id\":\"nonext\",\"from\":[\"mgmt\"],\"proto\":59}],\n"                       \
	" \"egress\":[\n"                                                                    \
	"  {\"id\":\"smtp-deny\",\"action\":\"deny\",\"to\":[\"any\"],\"proto\":\"tcp\",\"ports\":[25]},\n" \
	"  {\"id\":\"low-udp-deny\",\"action\":\"deny\",\"to\":[\"10.0.0.0/8\",\"fd00::/8\"],\"proto\":\"udp\",\"ports\":[\"0-1023\"]},\n" \
	"  {\"id\":\"bad-out\",\"action\":\"deny\",\"to\":[\"bad\"],\"proto\":\"any\"},\n"   \
	"  {\"id\":\"audit-out\",\"action\":\"deny\",\"audit\":true,\"to\":[\"192.0.2.128/25\"],\"proto\":\"any\"},\n" \
	"  {\"id\":\"icmp-out-deny\",\"action\":\"deny\",\"to\":[\"clients\"],\"proto\":\"icmp\",\"icmp_types\":[\"5-14\"]}]}\n"

#endif
