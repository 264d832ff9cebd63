/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Ward ABI: the one definition of every struct, code and flag that both the
 * BPF programs (bpf/) and the agent (agent/) see. Only fixed-width types,
 * padding written out, byte order stated per field. A layout change bumps
 * WARD_ABI_VERSION and the suffix of the affected map name.
 */
#ifndef WARD_ABI_H
#define WARD_ABI_H

#include <linux/types.h>

#define WARD_ABI_VERSION 3

/* ---- sizes (entries) ---------------------------------------------------- */
#define WARD_RULES_DEFAULT  65536   /* rule counters allocated, per slot; the
					* agent's --max-rules changes it        */
#define WARD_RULES_LIMIT    1048576 /* most rules a policy may have            */
#define WARD_MAX_PREFIXES   1048576 /* address entries a policy may compile to */
#define WARD_MAX_POLICY_ENT 4194304 /* rule entries a policy may compile to    */
#define WARD_MAX_IFACES     64      /* interfaces one agent attaches to        */
#define WARD_MAX_RATE_LIMITS 1024   /* rate-limit slots (0 = none)             */
#define WARD_NAME_LEN       64      /* policy name, bytes incl. NUL            */
#define WARD_IFNAME_LEN     16      /* IFNAMSIZ                                */

/* ---- directions, actions, flags ----------------------------------------- */
enum ward_dir {
	WARD_DIR_INGRESS = 0,
	WARD_DIR_EGRESS = 1,
	WARD_DIR_MAX = 2,
};

enum ward_action {
	WARD_ACT_DENY = 0,
	WARD_ACT_ALLOW = 1,
};

/* rule flags (struct ward_rule_val.flags) */
#define WARD_RF_AUDIT 0x01 /* a deny of this rule is only observed          */
#define WARD_RF_LOG   0x02 /* record flows decided by this rule              */

/* policy modes (struct ward_cfg.mode) */
enum ward_mode {
	WARD_MODE_ENFORCE = 0,
	WARD_MODE_AUDIT = 1, /* would-be denies pass, counted as audit */
};

/*
 * Address families in address keys. IPv4 and IPv6 share one table
 * and one code path; the family byte keeps "::/0" from matching IPv4.
 */
#define WARD_FAM_ANY 0 /* only used with prefixlen 0 */
#define WARD_FAM_V4  4
#define WARD_FAM_V6  6

/* ---- compiler entries: remote address -> address class (LPM terms) ----- */
struct ward_addr_key {
	__u32 prefixlen; /* host order: 8 (family) + address bits          */
	__u8 family;     /* WARD_FAM_V4 | WARD_FAM_V6                      */
	__u8 addr[16];   /* network order; IPv4 in addr[0..3], rest zero   */
	__u8 pad[3];     /* never in the prefix; zero                      */
};
#define WARD_ADDR_KEY_BITS(v6) (8 + ((v6) ? 128 : 32))

/*
 * The address class and the classes it falls back to, most specific first:
 * the rules of a prefix are looked up first, then those of the enclosing
 * prefixes, so entries are not copied into every nested prefix. 0 ends the
 * chain; class 0 alone = no rule can match (the default decides).
 */
#define WARD_CLASS_CHAIN 4
struct ward_addr_val {
	__u32 class_id[WARD_CLASS_CHAIN]; /* host order */
};

/* ---- compiler entries: (class, dir, proto, port) -> decision (LPM terms) */
/*
 * Matched as a bit string in memory order: class (big endian), dir, proto,
 * port (big endian). A prefix of 40 bits means "any protocol", 48 "any port
 * of this protocol", 48+k a port range aligned on 16-k bits. For ICMP and
 * ICMPv6 the port slot holds the message type.
 */
struct ward_rule_key {
	__u32 prefixlen; /* host order, 0..64                              */
	__be32 class_id; /* network order                                  */
	__u8 dir;        /* enum ward_dir                                   */
	__u8 proto;      /* IPPROTO_*                                       */
	__be16 port;     /* network order; dport or ICMP type              */
};
#define WARD_RULE_KEY_BITS_CLASS 32
#define WARD_RULE_KEY_BITS_DIR   40 /* class + dir: any protocol          */
#define WARD_RULE_KEY_BITS_PROTO 48 /* + proto: any port                  */
#define WARD_RULE_KEY_BITS_FULL  64 /* + port                             */

struct ward_rule_val {
	__u32 rule_idx;  /* host order; index into ward_rule_stats          */
	__u8 action;     /* enum ward_action                                */
	__u8 flags;      /* WARD_RF_*                                       */
	__u16 rl_slot;   /* host order; rate-limit slot, 0 = none          */
};

/*
 * The entries above are the compiler's output, in LPM terms. The datapath
 * does not walk tries: agent/lookup.c turns them into three hash-indexed
 * arrays per slot (below) whose lookup cost does not grow with the policy.
 */

/* ---- lookup tables: hashes both sides compute the same way --------------- */
/* Two-choice (cuckoo) tables: an entry sits at one of the two indexes its
 * key hashes to, so a lookup reads at most two slots, whatever the size. */
static inline __attribute__((always_inline)) __u64 ward_hash_mix(__u64 h, __u64 w)
{
	h ^= w;
	h *= 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 29);
}

/* Key of an address entry: WARD_ATAB_TAG, masked address words. */
static inline __attribute__((always_inline)) __u64 ward_addr_hash(__u64 seed, __u32 tag,
								  const __u32 *w)
{
	__u64 h = ward_hash_mix(seed, tag);

	h = ward_hash_mix(h, (__u64)w[0] << 32 | w[1]);
	return ward_hash_mix(h, (__u64)w[2] << 32 | w[3]);
}

/* Key of a port list: class, WARD_PTAB_SEL. */
static inline __attribute__((always_inline)) __u64 ward_ports_hash(__u64 seed, __u32 class_id,
								   __u32 sel)
{
	return ward_hash_mix(ward_hash_mix(seed, (__u64)class_id << 32 | sel), 0x5bd1e995);
}

/* The two indexes of a hash in a table of n slots (any n: a multiply and
 * a shift map a 32-bit half of the hash onto [0, n)). */
#define WARD_HASH_IDX(h, k, n) ((__u32)((((k) ? (h) >> 32 : (h)) & 0xffffffffull) * (n) >> 32))

/* ---- map: ward_lookup (array[WARD_SLOTS]) how to read a slot's tables ---- */
/*
 * Addresses: longest prefix match by binary search over the policy's
 * distinct prefix lengths (Waldvogel et al.), one hash probe per step:
 * at most 6 steps for IPv4, 8 for IPv6. tree[f] holds the lengths as a
 * balanced search tree in heap order (children of i: 2i+1 shorter, 2i+2
 * longer). A hit goes longer, a miss shorter; markers on the way to
 * longer prefixes carry the class chain of their best matching prefix.
 */
#define WARD_LEN_TREE 256  /* nodes per family; 8 levels              */
#define WARD_LEN_STEPS 8   /* probes at most                          */
#define WARD_LEN_NONE 0xff /* no node                                 */
#define WARD_FI(fam) ((fam) == WARD_FAM_V6)
/*
 * A filter in front of the search: every policy prefix of a family holds
 * its first filter_len bits (the family's shortest prefix length), folded
 * to 16 bits (ward_fold16 of the masked words), as a bit of filter[f]. An
 * address whose bit is clear is in no prefix: no probe, the chain of /0.
 */
#define WARD_FILTER_BITS 65536
static inline __attribute__((always_inline)) __u32 ward_fold16(const __u32 *w)
{
	__u32 x = w[0] ^ w[1] ^ w[2] ^ w[3];

	return (x ^ (x >> 16)) & 0xffff;
}
struct ward_lookup {
	__u64 seed;                   /* host order; of both hashes          */
	__u32 addr_slots;             /* entries of ward_atab                 */
	__u32 ports_slots;            /* entries of ward_ptab                 */
	struct ward_addr_val any[2];  /* by WARD_FI: the chain of /0 (no hit) */
	__u8 tree[2][WARD_LEN_TREE];  /* by WARD_FI: prefix lengths           */
	__u32 mask[129][4];           /* by length: host-order address masks  */
	__u8 filter_len[2];           /* by WARD_FI: shortest prefix length   */
	__u8 pad[6];
	__u64 filter[2][WARD_FILTER_BITS / 64]; /* by WARD_FI: see above      */
};

/* ---- inner maps of ward_atab_slots (array) address -> class chain ------ */
struct ward_atab_ent {
	__u32 addr[4];            /* host-order words, masked; IPv4 in addr[0] */
	__u32 tag;                /* WARD_ATAB_TAG(family, len); 0 = empty slot */
	struct ward_addr_val bmp; /* chain of the longest policy prefix that
				   * holds this one (itself, unless a marker) */
	__u32 pad;
};
#define WARD_ATAB_TAG(family, len) ((__u32)(family) << 8 | (len))

/* ---- inner maps of ward_ptab_slots (array) (class, dir, proto) -> ports - */
/*
 * A port list: sorted intervals of ward_ivals covering ports 0-65535. A
 * protocol with entries of its own (ports, or "any port") has a list with
 * any = 0, its gaps filled by the class's any-protocol entry; that entry
 * alone is the list with any = 1 and proto 0. No list, or an interval
 * with hit = 0: the next class of the chain decides.
 */
struct ward_ptab_ent {
	__u32 class_id; /* host order; 0 = empty slot                        */
	__u32 sel;      /* host order; WARD_PTAB_SEL(dir, proto, any)       */
	__u32 first;    /* host order; index of its first interval           */
	__u32 count;    /* host order; intervals, 1..65536                   */
};
/* any = 1: the any-protocol list (proto 0) */
#define WARD_PTAB_SEL(dir, proto, any) ((__u32)(dir) << 16 | (__u32)(any) << 8 | (proto))
#define WARD_PORT_STEPS 16 /* binary search steps over 65536 intervals */

/* ---- inner maps of ward_ival_slots (array) port intervals -------------- */
struct ward_ival {
	__u16 lo;               /* host order; runs to the next interval's lo */
	__u8 hit;               /* 0: no entry of the class covers it         */
	__u8 pad[5];
	struct ward_rule_val val;
};

/* ---- policy slots: two copies, one live -------------------------------- */
/*
 * A policy is written into the slot that is not live (its own lookup
 * tables, ward_lookup[N], ward_cfg[N], stats range), then published by one 4-byte
 * write of ward_active: a packet sees the old policy or the new one, never
 * a mix and never the union.
 */
#define WARD_SLOTS 2

/* ---- map: ward_active (array[1]) __u32 live slot (0 or 1) -------------- */

/* ---- map: ward_cfg (array[WARD_SLOTS]) ---------------------------------- */
struct ward_cfg {
	__u8 default_action[WARD_DIR_MAX]; /* enum ward_action per direction */
	__u8 mode;                         /* enum ward_mode                  */
	__u8 loaded;                       /* 1 once a policy is compiled in  */
	__u32 generation;                  /* host order; bumped per load     */
	__u8 default_log;                  /* WARD_LOG_*: records of defaults */
	__u8 pad[7];
};
#define WARD_LOG_NONE   0
#define WARD_LOG_DENIED 1
#define WARD_LOG_ALL    2

/* ---- map: ward_rule_stats (per-CPU array) ------------------------------- */
/*
 * Counter of a rule or of a default, in a policy slot. Slots interleave so
 * the map can be sized at load time (max_entries = WARD_STAT_ENTRIES(n)
 * for n rules) without the programs knowing n.
 */
struct ward_counter {
	__u64 packets;
	__u64 bytes;
};
#define WARD_STAT_DEFAULT(dir, act) ((dir) * 2 + (act))
#define WARD_STAT_RULE(idx)         (WARD_DIR_MAX * 2 + (idx))
#define WARD_STAT_IDX(stat, slot)   ((stat) * WARD_SLOTS + (slot))
#define WARD_STAT_ENTRIES(nrules)   WARD_STAT_IDX(WARD_STAT_RULE(nrules), 0)

/* ---- map: ward_verdicts (per-CPU array) --------------------------------- */
/*
 * Why a packet left the way it did. Codes are never reused: retire one as
 * WARD_V_UNUSED_n. Index = WARD_VERDICT_IDX(dir, code); value = struct
 * ward_counter.
 */
enum ward_verdict {
	WARD_V_PASS_RULE = 0,     /* allowed by a rule                        */
	WARD_V_PASS_DEFAULT = 1,  /* allowed by the direction's default       */
	WARD_V_PASS_ARP = 2,      /* ARP always passes                        */
	WARD_V_PASS_ND = 3,       /* IPv6 neighbour discovery always passes   */
	WARD_V_PASS_AUDIT = 4,    /* would-be deny let through by audit       */
	WARD_V_PASS_CT = 5,       /* established flow, reply, or related ICMP */
	WARD_V_DROP_RULE = 6,     /* denied by a deny rule                    */
	WARD_V_DROP_DEFAULT = 7,  /* denied by the direction's default        */
	WARD_V_DROP_MALFORMED = 8, /* truncated or inconsistent headers        */
	WARD_V_DROP_NON_IP = 9,   /* ethertype other than IPv4/IPv6/ARP       */
	WARD_V_DROP_FRAGMENT = 10, /* non-first fragment (ports unknown)      */
	WARD_V_DROP_NOPOLICY = 11, /* attached, but no policy compiled in     */
	WARD_V_DROP_TCP_FLAGS = 12, /* illegal TCP flag combination            */
	WARD_V_DROP_RATE = 13,    /* over its client's rate limit             */
	WARD_V_MAX = 14,
};

/* Codes below WARD_V_DROP_RULE let the packet through. */
#define WARD_V_IS_PASS(v) ((v) < WARD_V_DROP_RULE)
#define WARD_VERDICT_IDX(dir, v) ((dir) * WARD_V_MAX + (v))

/* ---- map: ward_trace (per-CPU array[1]) --------------------------------- */
/* Written only by instances loaded with cfg_trace (ward explain, tests). */
struct ward_trace {
	__u32 rule_idx;   /* host order; WARD_RULE_NONE for a default       */
	__u16 rl_slot;    /* host order                                      */
	__u8 verdict;     /* enum ward_verdict                               */
	__u8 action;      /* enum ward_action actually taken                 */
	__u8 dir;         /* enum ward_dir                                   */
	__u8 proto;       /* IPPROTO_*                                       */
	__u8 family;      /* WARD_FAM_*                                      */
	__u8 audit;       /* 1 when audit turned a deny into a pass          */
	__u32 class_id;   /* host order                                      */
	__u16 port;       /* host order; dport or ICMP type                 */
	__u16 pad;
	__u32 generation; /* host order; of the policy the packet saw, 0 if none */
	__u64 count;      /* host order; decisions traced                    */
};
#define WARD_RULE_NONE 0xffffffffu

/* ---- map: ward_ifaces (array) interfaces this agent attached to --------- */
struct ward_iface {
	__u32 ifindex;               /* host order; 0 = free slot         */
	__u32 flags;                 /* WARD_IF_*                          */
	char name[WARD_IFNAME_LEN];  /* NUL-terminated                     */
};
#define WARD_IF_XDP_NATIVE  0x01
#define WARD_IF_XDP_GENERIC 0x02
#define WARD_IF_TC          0x04

/* ---- map: ward_meta (array[1]) what is loaded, for ward status --------- */
struct ward_meta {
	char name[WARD_NAME_LEN];    /* policy name, NUL-terminated        */
	__u8 sha256[32];             /* of the policy file bytes           */
	__u64 revision;              /* host order                         */
	__u64 loaded_ns;             /* CLOCK_REALTIME, host order         */
	__u32 nrules;                /* host order                         */
	__u32 abi_version;           /* WARD_ABI_VERSION                   */
	__u32 generation;            /* host order; = ward_cfg.generation  */
	__u32 nfailsafes;            /* of nrules, from the agent's config */
};

/* ---- map: ward_ct (LRU hash) connection tracking ---------------------- */
/*
 * One entry per flow, keyed from the host's side so that both directions
 * of a flow find it: remote and local address and port whatever the
 * direction of the packet. ICMP echo: lport = identifier, rport = 0.
 */
struct ward_ct_key {
	__u8 family;     /* WARD_FAM_V4 | WARD_FAM_V6                        */
	__u8 proto;      /* IPPROTO_*                                         */
	__be16 rport;    /* network order                                     */
	__be16 lport;    /* network order                                     */
	__u16 pad;
	__u8 raddr[16];  /* network order; IPv4 in [0..3]                    */
	__u8 laddr[16];
};

enum ward_ct_state {
	WARD_CT_NEW = 0,         /* first packet seen, no reply yet          */
	WARD_CT_ESTABLISHED = 1, /* the other side answered                  */
	WARD_CT_CLOSING = 2,     /* TCP FIN seen                             */
	WARD_CT_CLOSED = 3,      /* TCP RST seen                             */
};

struct ward_ct_val {
	__u64 created_ns;  /* CLOCK_MONOTONIC (bpf_ktime_get_ns)             */
	__u64 last_ns;     /* of the last packet, either way                 */
	__u64 packets[WARD_DIR_MAX]; /* by direction of the packets          */
	__u64 bytes[WARD_DIR_MAX];
	__u32 rule_idx;    /* deciding rule of the origin direction           */
	__u32 generation;  /* policy generation it was last decided under    */
	__u8 origin;       /* enum ward_dir of the first packet               */
	__u8 state;        /* enum ward_ct_state                              */
	__u8 tcp_flags[WARD_DIR_MAX]; /* TCP flags seen, by direction         */
	__u16 rl_slot;     /* host order                                      */
	__u16 pad;
};

/* Idle timeouts, seconds, by state (TCP) or protocol. */
#define WARD_CT_TCP_SYN_S     60
#define WARD_CT_TCP_EST_S     21600
#define WARD_CT_TCP_CLOSE_S   10
#define WARD_CT_UDP_S         60
#define WARD_CT_ICMP_S        30
#define WARD_CT_OTHER_S       60
#define WARD_CT_DEFAULT_SIZE  262144 /* entries; ward run --ct-size */

static inline __u64 ward_ct_timeout_ns(__u8 proto, __u8 state)
{
	__u64 s;

	if (proto == 6) /* IPPROTO_TCP */
		s = state == WARD_CT_ESTABLISHED ? WARD_CT_TCP_EST_S
		  : state == WARD_CT_NEW ? WARD_CT_TCP_SYN_S : WARD_CT_TCP_CLOSE_S;
	else if (proto == 17) /* IPPROTO_UDP */
		s = WARD_CT_UDP_S;
	else if (proto == 1 || proto == 58) /* IPPROTO_ICMP, IPPROTO_ICMPV6 */
		s = WARD_CT_ICMP_S;
	else
		s = WARD_CT_OTHER_S;
	return s * 1000000000ull;
}

/* ---- rate limits --------------------------------------------------------- */
/*
 * Token buckets kept as GCRA "theoretical arrival times" (one u64 per
 * bucket, CAS-updated): a packet of cost c conforms when
 * max(tat, now) + c - now <= tau, and then tat = max(tat, now) + c.
 * Time is the coarse monotonic clock (tick precision, no clock source read).
 *
 * map ward_rl_cfg (array[WARD_SLOTS * WARD_MAX_RATE_LIMITS]): the limits of
 * each policy slot, index WARD_RL_CFG_IDX(slot, rl_slot).
 */
struct ward_rl_cfg {
	__u64 pkt_ns;      /* ns per packet = 1e9 / pps                        */
	__u64 pkt_tau;     /* burst * pkt_ns                                    */
	__u64 byte_q16;    /* ns per byte << 16; 0 = no byte limit              */
	__u64 byte_tau;    /* bytes_burst * ns per byte                         */
	__u64 conn_ns;     /* ns per new flow; 0 = no connection limit          */
	__u64 conn_tau;    /* conn_burst * conn_ns                              */
	__u8 prefix[2];    /* client key: source masked to [0] bits (IPv4), [1] (IPv6) */
	__u16 key_id;      /* host order; the limit's identity in bucket keys,
			    * from its name: stable across policy edits       */
	__u8 pad[4];
};
#define WARD_RL_CFG_IDX(slot, rl) ((slot) * WARD_MAX_RATE_LIMITS + (rl))

/* map ward_rl (hash, not LRU: a flood cannot evict a bucket) client -> bucket */
struct ward_rl_key {
	__u16 key_id;    /* host order; ward_rl_cfg.key_id of the limit       */
	__u8 family;     /* WARD_FAM_*                                         */
	__u8 prefixlen;  /* bits of addr kept                                  */
	__u8 addr[16];   /* network order, masked                              */
};

struct ward_rl_val {
	__u64 tat_pkt;   /* ns, CLOCK_MONOTONIC coarse                         */
	__u64 tat_byte;
	__u64 tat_conn;
	__u64 last_ns;   /* last packet; the agent frees idle (full) buckets   */
};
/*
 * When ward_rl is full, new clients share the cells of a fixed sketch
 * (ward_rl_sketch, WARD_RL_ROWS rows of WARD_RL_COLS buckets): a client
 * passes when one of its cells conforms, so a colliding flood can only
 * limit it harder, never let an over-limit client through.
 */
#define WARD_RL_DEFAULT_SIZE 65536
#define WARD_RL_ROWS 2
#define WARD_RL_COLS 32768

/* ---- flow events: map ward_events (ring buffer) ------------------------- */
enum ward_event_kind {
	WARD_EV_FLOW = 1,  /* an allowed flow opened (logged rule or default) */
	WARD_EV_DENY = 2,  /* denied packets of one (src, dst, proto, dport)   */
	WARD_EV_RATE = 3,  /* rate-limited packets of one client               */
	WARD_EV_AUDIT = 4, /* would-be denies let through, like WARD_EV_DENY  */
	WARD_EV_MAX = 5,
};

/*
 * One event. Aggregated kinds: the first packet of a key is sent at once
 * (packets = 1); later packets are summed in ward_agg and sent at most
 * once per interval, the remainder by the agent when the key goes idle,
 * so the packets of all events of a key add up to the packets dropped.
 */
struct ward_event {
	__u64 first_ns;    /* CLOCK_MONOTONIC (coarse), first packet counted  */
	__u64 last_ns;     /* last packet counted                             */
	__u64 packets;
	__u64 bytes;
	__u32 rule_idx;    /* host order; WARD_RULE_NONE = default            */
	__u32 generation;  /* policy generation that decided                  */
	__u32 ifindex;
	__u8 kind;         /* enum ward_event_kind                            */
	__u8 dir;          /* enum ward_dir                                   */
	__u8 family;
	__u8 proto;
	__u16 sport;       /* host order; 0 for aggregates                    */
	__u16 dport;       /* host order; ICMP type                           */
	__u8 tcp_flags;
	__u8 verdict;      /* enum ward_verdict                               */
	__u16 rl_slot;
	__u8 src[16];      /* network order; WARD_EV_RATE: the client key     */
	__u8 dst[16];
};

/* map ward_agg (hash) aggregation of WARD_EV_DENY/RATE/AUDIT */
struct ward_agg_key {
	__u8 kind;
	__u8 dir;
	__u8 family;
	__u8 proto;
	__u16 dport;       /* host order; rl_slot for WARD_EV_RATE            */
	__u16 pad;
	__u8 src[16];
	__u8 dst[16];      /* zero for WARD_EV_RATE                           */
};

struct ward_agg_val {
	__u64 first_ns;    /* start of the interval being summed              */
	__u64 last_ns;
	__u64 packets;     /* summed since the last event (atomic)            */
	__u64 bytes;
	__u32 rule_idx;
	__u32 generation;
	__u32 ifindex;
	__u8 verdict;
	__u8 tcp_flags;
	__u16 rl_slot;
};
#define WARD_AGG_SIZE 65536
#define WARD_EVENTS_RING (4u << 20) /* bytes                               */

/* map ward_ev_lost (per-CPU array[WARD_EV_MAX]): events the ring could not
 * take (index kind; packets = events, bytes = packets they covered), and
 * [0] = packets of aggregated kinds that found ward_agg full (sent in no
 * event; the agent reports them). */
#define WARD_EV_LOST_AGG_FULL 0

/* ---- map: ward_rule_ids (hash) WARD_STAT_IDX(idx, slot) -> rule info ---- */
/* Userspace-only: lets ward stats/status name rules without the policy file. */
struct ward_rule_info {
	char id[WARD_NAME_LEN]; /* rule id, NUL-terminated                  */
	__u8 dir;               /* enum ward_dir                             */
	__u8 action;            /* enum ward_action                          */
	__u8 flags;             /* WARD_RF_*                                 */
	__u8 pad[5];
};

/* ---- layout checks (the C counterpart of cilium's alignchecker) -------- */
_Static_assert(sizeof(struct ward_addr_key) == 24, "abi: ward_addr_key");
_Static_assert(sizeof(struct ward_addr_val) == 16, "abi: ward_addr_val");
_Static_assert(sizeof(struct ward_rule_key) == 12, "abi: ward_rule_key");
_Static_assert(sizeof(struct ward_rule_val) == 8, "abi: ward_rule_val");
_Static_assert(sizeof(struct ward_cfg) == 16, "abi: ward_cfg");
_Static_assert(sizeof(struct ward_lookup) == 48 + 2 * WARD_LEN_TREE + 129 * 16 + 8 + 2 * 8192,
	       "abi: ward_lookup");
_Static_assert(sizeof(struct ward_atab_ent) == 40, "abi: ward_atab_ent");
_Static_assert(sizeof(struct ward_ptab_ent) == 16, "abi: ward_ptab_ent");
_Static_assert(sizeof(struct ward_ival) == 16, "abi: ward_ival");
_Static_assert(sizeof(struct ward_rl_cfg) == 56, "abi: ward_rl_cfg");
_Static_assert(sizeof(struct ward_rl_key) == 20, "abi: ward_rl_key");
_Static_assert(sizeof(struct ward_rl_val) == 32, "abi: ward_rl_val");
_Static_assert(sizeof(struct ward_event) == 88, "abi: ward_event");
_Static_assert(sizeof(struct ward_agg_key) == 40, "abi: ward_agg_key");
_Static_assert(sizeof(struct ward_agg_val) == 48, "abi: ward_agg_val");
_Static_assert(sizeof(struct ward_counter) == 16, "abi: ward_counter");
_Static_assert(sizeof(struct ward_trace) == 32, "abi: ward_trace");
_Static_assert(sizeof(struct ward_iface) == 24, "abi: ward_iface");
_Static_assert(sizeof(struct ward_meta) == 128, "abi: ward_meta");
_Static_assert(sizeof(struct ward_rule_info) == 72, "abi: ward_rule_info");
_Static_assert(sizeof(struct ward_ct_key) == 40, "abi: ward_ct_key");
_Static_assert(sizeof(struct ward_ct_val) == 64, "abi: ward_ct_val");

#endif /* WARD_ABI_H */
