// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Skeleton lifecycle: open, pin or adopt, load, attach, test-run. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "loader.h"
#include "log.h"
#include "netlink.h"
#include "pins.h"
#include "ward.skel.h"

static int pin_maps(struct ward *w)
{
	struct bpf_map *map;
	char path[PATH_MAX];
	int err;

	bpf_object__for_each_map(map, w->skel->obj) {
		if (bpf_map__is_internal(map))
			continue; /* .rodata: not shared state */
		err = pin_path(path, sizeof(path), w->pin_path, bpf_map__name(map));
		if (!err)
			err = bpf_map__set_pin_path(map, path);
		if (err)
			return err;
		if (access(path, F_OK) == 0)
			w->adopted = true;
	}
	return 0;
}

/* A policy published by a build of another ABI: its programs read maps
 * this build has not got (ABI 2: LPM tries), so a publish here would not
 * reach them. 1 when so (said), else 0. */
static int check_pinned_abi(struct ward *w)
{
	int fd = pin_open(w->pin_path, "ward_meta");
	struct bpf_map_info info = {};
	__u32 zero = 0, len = sizeof(info);
	struct ward_meta m = {};
	int bad = 0;

	if (fd < 0)
		return 0;
	/* another layout of ward_meta is said by the caller */
	if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.value_size == sizeof(m) &&
	    !bpf_map_lookup_elem(fd, &zero, &m) && m.abi_version &&
	    m.abi_version != WARD_ABI_VERSION) {
		pr_warn("%s: the policy in force was published by a build of ABI %u; this build "
			"is ABI %u (other policy lookup tables)\n", w->pin_path, m.abi_version,
			WARD_ABI_VERSION);
		bad = 1;
	}
	close(fd);
	return bad;
}

/*
 * Maps pinned by another build or with other sizes cannot be adopted:
 * say which and why before libbpf refuses, and touch nothing (the pinned
 * programs keep enforcing what they had).
 */
static int check_pinned(struct ward *w)
{
	struct bpf_map *map;
	int bad = 0;

	bpf_object__for_each_map(map, w->skel->obj) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);
		int fd;

		if (bpf_map__is_internal(map))
			continue;
		fd = pin_open(w->pin_path, bpf_map__name(map));
		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
			if (info.type != bpf_map__type(map) || info.key_size != bpf_map__key_size(map) ||
			    info.value_size != bpf_map__value_size(map)) {
				pr_warn("%s/%s: pinned by a build with another layout (key %u, value %u "
					"bytes; this build: %u, %u)\n", w->pin_path, bpf_map__name(map),
					info.key_size, info.value_size, bpf_map__key_size(map),
					bpf_map__value_size(map));
				bad++;
			} else if (info.max_entries != bpf_map__max_entries(map)) {
				pr_warn("%s/%s: pinned with %u entries, this agent asks for %u "
					"(--max-rules, --ct-size and --rl-size must match the running maps)\n",
					w->pin_path, bpf_map__name(map), info.max_entries,
					bpf_map__max_entries(map));
				bad++;
			}
		}
		close(fd);
	}
	bad += check_pinned_abi(w);
	if (bad)
		pr_warn("%s: cannot adopt the pinned state; nothing was changed and the pinned "
			"programs keep enforcing. To replace it: stop, `ward detach --pin-path %s`, "
			"start (enforcement is off in between)\n", w->pin_path, w->pin_path);
	return bad ? -EPROTO : 0;
}

static int pin_prog(struct ward *w, struct bpf_program *prog, const char *name)
{
	char path[PATH_MAX];
	int err = pin_path(path, sizeof(path), w->pin_path, name);

	if (err)
		return err;
	(void)unlink(path); /* a restart replaces the pinned program */
	return bpf_program__pin(prog, path);
}

int ward__load(struct ward *w, const char *pin_dir, bool trace)
{
	return ward__load_opts(w, pin_dir, trace, 0);
}

int ward__load_opts(struct ward *w, const char *pin_dir, bool trace, size_t max_rules)
{
	struct ward_load_opts o = { .trace = trace, .no_ct = trace, .no_rl = trace,
				    .no_events = trace, .max_rules = max_rules };

	return ward__load_ex(w, pin_dir, &o);
}

int ward__load_ex(struct ward *w, const char *pin_dir, const struct ward_load_opts *o)
{
	int err;

	memset(w, 0, sizeof(*w));
	w->max_rules = o->max_rules ? o->max_rules : WARD_RULES_DEFAULT;
	if (w->max_rules > WARD_RULES_LIMIT)
		return -E2BIG;
	if (pin_dir && snprintf(w->pin_path, sizeof(w->pin_path), "%s", pin_dir) >=
			       (int)sizeof(w->pin_path))
		return -ENAMETOOLONG;
	w->skel = ward_bpf__open();
	if (!w->skel)
		return -errno;
	w->skel->rodata->cfg_trace = o->trace;
	w->skel->rodata->cfg_ct = !o->no_ct;
	w->skel->rodata->cfg_rl = !o->no_rl;
	w->skel->rodata->cfg_events = !o->no_events;
	if (o->ev_interval_ms)
		w->skel->rodata->cfg_ev_interval_ns = o->ev_interval_ms * 1000000ull;
	err = bpf_map__set_max_entries(w->skel->maps.ward_rule_stats,
				       WARD_STAT_ENTRIES(w->max_rules));
	if (!err)
		err = bpf_map__set_max_entries(w->skel->maps.ward_rl_drops,
					       WARD_STAT_ENTRIES(w->max_rules));
	if (!err)
		err = bpf_map__set_max_entries(w->skel->maps.ward_rl,
					       o->rl_size ? o->rl_size : WARD_RL_DEFAULT_SIZE);
	if (!err)
		err = bpf_map__set_max_entries(w->skel->maps.ward_ct,
					       o->ct_size ? o->ct_size : WARD_CT_DEFAULT_SIZE);
	if (!err)
		err = bpf_map__set_max_entries(w->skel->maps.ward_rule_ids,
					       WARD_STAT_ENTRIES(w->max_rules));
	if (err)
		goto fail;
	if (w->pin_path[0]) {
		err = pin_mkdir(w->pin_path);
		if (!err)
			err = check_pinned(w);
		if (!err)
			err = pin_maps(w);
		if (err)
			goto fail;
	}
	err = ward_bpf__load(w->skel);
	if (err)
		goto fail;
	if (w->pin_path[0]) {
		err = pin_prog(w, w->skel->progs.xdp_ingress, PIN_PROG_XDP);
		if (!err)
			err = pin_prog(w, w->skel->progs.tc_egress, PIN_PROG_TC);
		if (err)
			goto fail;
	}
	return 0;
fail:
	ward_bpf__destroy(w->skel);
	w->skel = NULL;
	return err;
}

void ward__close(struct ward *w)
{
	if (!w)
		return;
	ward_bpf__destroy(w->skel); /* pins and links stay: enforcement goes on */
	w->skel = NULL;
}

int ward__map_fd(struct ward *w, const char *name)
{
	int fd = bpf_object__find_map_fd_by_name(w->skel->obj, name);

	return fd < 0 ? -ENOENT : fd;
}

static int attach_xdp(struct ward *w, int ifindex, const char *ifname, enum xdp_mode mode)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts);
	int prog = bpf_program__fd(w->skel->progs.xdp_ingress);
	char path[PATH_MAX], name[64];
	int fd, err;

	snprintf(name, sizeof(name), PIN_XDP_LINK "%s", ifname);
	err = pin_path(path, sizeof(path), w->pin_path, name);
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		/* adopt: swap the program of the live link, no gap */
		err = bpf_link_update(fd, prog, NULL) ? -errno : 0;
		close(fd);
		if (!err)
			return 0;
		pr_warn("%s: pinned XDP link is stale (%s), replacing it\n", ifname,
			strerror(-err));
		(void)unlink(path);
	}
	opts.flags = mode == XDP_MODE_NATIVE ? XDP_FLAGS_DRV_MODE
		   : mode == XDP_MODE_GENERIC ? XDP_FLAGS_SKB_MODE : 0;
	fd = bpf_link_create(prog, ifindex, BPF_XDP, &opts);
	if (fd < 0)
		return -errno;
	err = bpf_obj_pin(fd, path) ? -errno : 0;
	close(fd);
	return err;
}

static int attach_tc(struct ward *w, int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = WARD_TC_HANDLE, .priority = WARD_TC_PRIO,
		    .flags = BPF_TC_F_REPLACE);
	int err;

	log_libbpf_quiet(1);
	err = bpf_tc_hook_create(&hook);
	log_libbpf_quiet(0);
	if (err && err != -EEXIST)
		return err;
	opts.prog_fd = bpf_program__fd(w->skel->progs.tc_egress);
	return bpf_tc_attach(&hook, &opts);
}

static int record_iface(struct ward *w, int ifindex, const char *ifname)
{
	int fd = ward__map_fd(w, "ward_ifaces"), free_slot = -1;
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct ward_iface v;

	for (__u32 i = 0; i < WARD_MAX_IFACES; i++) {
		if (bpf_map_lookup_elem(fd, &i, &v))
			return -errno;
		if (v.ifindex == (__u32)ifindex || (!strncmp(v.name, ifname, sizeof(v.name)) &&
						    v.ifindex)) {
			free_slot = i;
			break;
		}
		if (!v.ifindex && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0)
		return -ENOSPC;
	memset(&v, 0, sizeof(v));
	v.ifindex = ifindex;
	snprintf(v.name, sizeof(v.name), "%s", ifname);
	v.flags = WARD_IF_TC;
	if (!bpf_xdp_query(ifindex, 0, &q)) {
		v.flags |= q.attach_mode == XDP_ATTACHED_SKB ? WARD_IF_XDP_GENERIC
							     : WARD_IF_XDP_NATIVE;
		if (q.attach_mode == XDP_ATTACHED_SKB)
			pr_warn("%s: the driver has no native XDP: generic mode, slower but "
				"enforcing\n", ifname);
	}
	return bpf_map_update_elem(fd, &free_slot, &v, BPF_ANY) ? -errno : 0;
}

int ward__attach(struct ward *w, const char *ifname, enum xdp_mode mode)
{
	struct link_info li;
	int ifindex, err;

	err = netlink__link(ifname, &li);
	if (err)
		return err;
	ifindex = li.ifindex;
	pr_debug("%s: ifindex %d, %s%s%s\n", ifname, ifindex, li.up ? "up" : "down",
		 li.kind[0] ? ", " : "", li.kind);
	if (!li.up)
		pr_warn("%s: link is down; enforcing anyway, it applies when it comes up\n", ifname);
	err = attach_xdp(w, ifindex, ifname, mode);
	if (err) {
		pr_warn("%s: attach XDP: %s\n", ifname, strerror(-err));
		return err;
	}
	err = attach_tc(w, ifindex);
	if (err) {
		pr_warn("%s: attach TC egress: %s\n", ifname, strerror(-err));
		return err;
	}
	return record_iface(w, ifindex, ifname);
}

int ward__test_run(struct ward *w, int dir, const void *frame, size_t len, int *ret_pass,
		   struct ward_trace *ret_trace)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = len, .repeat = 1);
	struct bpf_program *prog = dir == WARD_DIR_INGRESS ? w->skel->progs.xdp_ingress
							   : w->skel->progs.tc_egress;
	int ncpu = libbpf_num_possible_cpus(), tfd = ward__map_fd(w, "ward_trace"), err;
	struct ward_trace *t;
	__u32 zero = 0;

	if (ncpu <= 0)
		return -EINVAL;
	t = calloc(ncpu, sizeof(*t));
	if (!t)
		return -ENOMEM;
	if (ret_trace && bpf_map_update_elem(tfd, &zero, t, BPF_ANY)) {
		err = -errno;
		goto out;
	}
	err = bpf_prog_test_run_opts(bpf_program__fd(prog), &opts);
	if (err) {
		err = -errno;
		goto out;
	}
	*ret_pass = dir == WARD_DIR_INGRESS ? opts.retval == XDP_PASS : opts.retval == 0;
	if (ret_trace) {
		if (bpf_map_lookup_elem(tfd, &zero, t)) {
			err = -errno;
			goto out;
		}
		memset(ret_trace, 0, sizeof(*ret_trace));
		for (int i = 0; i < ncpu; i++)
			if (t[i].count)
				*ret_trace = t[i];
		if (!ret_trace->count)
			err = -ENODATA;
	}
out:
	free(t);
	return err;
}
