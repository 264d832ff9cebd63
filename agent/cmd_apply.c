// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * ward apply POLICY [--confirm-within SECONDS] and ward confirm: change the
 * policy of a running agent through its control socket (control.h), with
 * an automatic rollback unless confirmed in time.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "cmd.h"
#include "config.h"
#include "control.h"
#include "loader.h"

#define CLIENT_TIMEOUT_S 60 /* connect, send, and wait for the agent's answer */

static const char apply_help[] =
	"NAME\n"
	"    ward apply - change the policy of the running agent, with an optional rollback\n"
	"\n"
	"SYNOPSIS\n"
	"    ward apply POLICY [--confirm-within SECONDS] [--socket PATH | --config FILE |\n"
	"               --pin-path DIR] [--json]\n"
	"\n"
	"DESCRIPTION\n"
	"    Reads the policy file POLICY and sends its text to the agent (ward run) through\n"
	"    the agent's control socket. The agent validates and compiles it exactly as\n"
	"    `ward check` does (with its own failsafes and --max-rules), then publishes it\n"
	"    with one atomic switch. An invalid policy changes nothing: every error is\n"
	"    printed, located as FILE:LINE:COL: /json/pointer: value: reason, and the agent\n"
	"    keeps enforcing the policy it had.\n"
	"\n"
	"    With --confirm-within, the new policy is in force at once but on probation: unless\n"
	"    `ward confirm` reaches the agent within SECONDS, the agent puts the previous\n"
	"    policy back by itself. Use it for changes that could cut your own access: if the\n"
	"    new policy locks you out, you cannot confirm, and it rolls back.\n"
	"\n"
	"    ward apply changes the running agent only. The agent's policy file (--policy, or\n"
	"    \"policy\" in its config) is what a restart or `systemctl reload ward` loads:\n"
	"    install the new file there too once you keep it.\n"
	"\n"
	"OPTIONS\n"
	"    --confirm-within SECONDS\n"
	"        1-86400. Roll back to the previous policy unless `ward confirm` follows in time.\n"
	"    --socket PATH\n"
	"        The agent's control socket (default " CONFIG_DEFAULT_CONTROL_SOCKET ").\n"
	"    --config FILE\n"
	"        The socket of the agent run with this config file: its \"control_socket\", or\n"
	"        the default of its \"pin_path\".\n"
	"    --pin-path DIR\n"
	"        The socket of the agent run with this --pin-path (and no --control-socket):\n"
	"        " CONTROL_RUN_DIR "/NAME.sock, NAME the last component of DIR.\n"
	"    --json\n"
	"        Print the agent's answer as JSON on stdout.\n"
	"    -h, --help\n"
	"        This text.\n"
	"\n"
	"EXIT STATUS\n"
	"    0  the policy is in force (on probation with --confirm-within)\n"
	"    1  the policy is invalid, or POLICY cannot be read; nothing changed\n"
	"    2  usage\n"
	"    3  the agent is unreachable, refused the request (only root may apply), or could\n"
	"       not publish; nothing changed\n"
	"\n"
	"EXAMPLES\n"
	"    ward check new.json && ward apply new.json\n"
	"    ward apply new.json --confirm-within 60 && ssh node true && ward confirm\n";

static const char confirm_help[] =
	"NAME\n"
	"    ward confirm - keep the policy applied with ward apply --confirm-within\n"
	"\n"
	"SYNOPSIS\n"
	"    ward confirm [--socket PATH | --config FILE | --pin-path DIR] [--json]\n"
	"\n"
	"DESCRIPTION\n"
	"    Tells the running agent to keep the policy that `ward apply --confirm-within` put\n"
	"    in force, and to cancel its rollback. Without it, the agent restores the previous\n"
	"    policy when the time is up.\n"
	"\n"
	"OPTIONS\n"
	"    --socket PATH    the agent's control socket (default " CONFIG_DEFAULT_CONTROL_SOCKET ")\n"
	"    --config FILE    the socket of the agent run with this config file\n"
	"    --pin-path DIR   the socket of the agent run with this --pin-path\n"
	"    --json           print the agent's answer as JSON on stdout\n"
	"    -h, --help       this text\n"
	"\n"
	"EXIT STATUS\n"
	"    0  confirmed: the policy stays\n"
	"    1  nothing to confirm: no rollback was pending (already confirmed, or the time\n"
	"       was up and the agent rolled back: `ward status` shows which policy is live)\n"
	"    2  usage\n"
	"    3  the agent is unreachable or refused the request (only root may confirm)\n";

struct client_opts {
	const char *socket;
	const char *config;
	const char *pin_path;
	unsigned confirm_s;
	bool json;
};

/* ---- talking to the agent ------------------------------------------------------ */

static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= n;
	}
	return 0;
}

/* Read to end of file, at most max bytes. Caller frees *ret (NUL-terminated). */
static int recv_all(int fd, size_t max, char **ret, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap) {
			char *p;

			if (cap > max) {
				free(buf);
				return -EMSGSIZE;
			}
			p = realloc(buf, cap * 2);
			if (!p) {
				free(buf);
				return -ENOMEM;
			}
			buf = p;
			cap *= 2;
		}
		r = recv(fd, buf + n, cap - n - 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		/* the agent answered without reading all we sent: its close is a reset */
		if (r < 0 && n && (errno == ECONNRESET || errno == EPIPE))
			break;
		if (r < 0) {
			int err = -errno;

			free(buf);
			return err;
		}
		if (r == 0)
			break;
		n += r;
	}
	buf[n] = '\0';
	*ret = buf;
	*len = n;
	return 0;
}

/*
 * One request, one reply. 0 and *reply; or EXIT_RUNTIME after printing why
 * (the agent is unreachable or answered nothing readable).
 */
static int request(const char *prog, const char *sock, json_t *req, json_t **reply)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = CLIENT_TIMEOUT_S };
	char *out = NULL, *in = NULL;
	size_t inlen = 0;
	json_error_t jerr;
	int fd, err, serr;

	out = json_dumps(req, JSON_COMPACT);
	if (!out) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return EXIT_RUNTIME;
	}
	if (strlen(out) > CONTROL_MSG_MAX) {
		fprintf(stderr, "%s: the request is larger than the control socket takes (%u MiB)\n",
			prog, CONTROL_MSG_MAX >> 20);
		free(out);
		return EXIT_RUNTIME;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = errno;
		fprintf(stderr, "%s: cannot reach the agent at %s: %s%s\n", prog, sock,
			strerror(err),
			err == ENOENT || err == ECONNREFUSED
				? " (is `ward run` running, with this --control-socket?)"
			: err == EACCES ? " (only root may control the agent)"
					: "");
		if (fd >= 0)
			close(fd);
		free(out);
		return EXIT_RUNTIME;
	}
	/* the agent may answer before reading it all (refused, too large): read anyway */
	serr = send_all(fd, out, strlen(out));
	free(out);
	(void)shutdown(fd, SHUT_WR);
	err = recv_all(fd, CONTROL_MSG_MAX, &in, &inlen);
	close(fd);
	if (!err && !inlen)
		err = serr ? serr : -ECONNRESET;
	if (err) {
		fprintf(stderr, "%s: no answer from the agent at %s: %s\n", prog, sock,
			err == -EAGAIN ? "timed out" : strerror(-err));
		free(in);
		return EXIT_RUNTIME;
	}
	*reply = json_loadb(in, inlen, 0, &jerr);
	free(in);
	if (!json_is_object(*reply)) {
		fprintf(stderr, "%s: the agent's answer is not a JSON object: %s\n", prog,
			*reply ? "" : jerr.text);
		json_decref(*reply);
		*reply = NULL;
		return EXIT_RUNTIME;
	}
	return 0;
}

static void print_json(json_t *o)
{
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);

	if (s)
		puts(s);
	free(s);
}

/* Text with a final newline. */
static void print_text(FILE *f, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n)
		fprintf(f, "%s%s", s, s[n - 1] == '\n' ? "" : "\n");
}

/* The failure of a reply: printed; its exit status. */
static int reply_failed(const char *prog, json_t *reply, const char *what)
{
	const char *kind = json_string_value(json_object_get(reply, "kind"));
	const char *errors = json_string_value(json_object_get(reply, "errors"));
	bool invalid = !kind || !strcmp(kind, "invalid");

	print_text(stderr, errors ? errors : "(the agent gave no reason)");
	if (what)
		fprintf(stderr, "%s: %s%s\n", prog, what,
			invalid ? "" : " (the agent could not do it)");
	return invalid ? EXIT_INVALID : EXIT_RUNTIME;
}

/* ---- options ------------------------------------------------------------------- */

/*
 * The agent's socket: --socket; else the config's "control_socket"; else
 * the default of the pin path (--pin-path, the config's "pin_path", or
 * /sys/fs/bpf/ward), as the agent picks it (control__default_path).
 */
static int socket_path(const char *prog, const struct client_opts *o, char **ret)
{
	struct ward_config cfg;
	struct diags d = {};
	const char *pin = o->pin_path;
	char def[PATH_MAX];
	int rc = 0;

	config__init(&cfg);
	if (o->socket) {
		*ret = strdup(o->socket);
		return *ret ? 0 : EXIT_RUNTIME;
	}
	if (o->config && config__parse_file(o->config, &cfg, &d)) {
		diags__print(&d, o->config, stderr);
		fprintf(stderr, "%s: %s: invalid config\n", prog, o->config);
		diags__free(&d);
		return EXIT_INVALID;
	}
	diags__free(&d);
	if (!pin)
		pin = cfg.pin_path ? cfg.pin_path : WARD_DEFAULT_PIN_PATH;
	if (cfg.control_socket) {
		*ret = strdup(cfg.control_socket);
	} else if (control__default_path(pin, def, sizeof(def))) {
		fprintf(stderr, "%s: --pin-path %s: too long to name a socket: use --socket\n", prog,
			pin);
		*ret = NULL;
		rc = EXIT_USAGE;
	} else {
		*ret = strdup(def);
	}
	config__free(&cfg);
	return rc ? rc : *ret ? 0 : EXIT_RUNTIME;
}

/* Common options; the positional arguments stay from optind. 0, or an exit status. */
static int parse_opts(int argc, char **argv, bool apply, struct client_opts *o)
{
	static const struct option lo[] = {
		{ "confirm-within", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'C' },
		{ "pin-path", required_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *prog = apply ? "ward apply" : "ward confirm";
	unsigned long n;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'c':
			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (!apply || errno || *end || !*optarg || optarg[0] == '-' || n < 1 ||
			    n > 86400) {
				fprintf(stderr, "%s: --confirm-within is 1-86400 seconds\n", prog);
				return EXIT_USAGE;
			}
			o->confirm_s = n;
			break;
		case 's':
			o->socket = optarg;
			break;
		case 'C':
			o->config = optarg;
			break;
		case 'P':
			o->pin_path = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'h':
			fputs(apply ? apply_help : confirm_help, stdout);
			return -1;
		default:
			return EXIT_USAGE;
		}
	}
	if (o->socket && (o->config || o->pin_path)) {
		fprintf(stderr, "%s: --socket names the socket: give it alone, or --config "
				"FILE / --pin-path DIR\n", prog);
		return EXIT_USAGE;
	}
	return 0;
}

static void usage(bool apply)
{
	if (apply)
		fprintf(stderr, "usage: ward apply POLICY [--confirm-within SECONDS] "
				"[--socket PATH | --config FILE | --pin-path DIR] [--json]\n");
	else
		fprintf(stderr, "usage: ward confirm [--socket PATH | --config FILE | --pin-path DIR] "
				"[--json]\n");
}

/* ---- ward apply ---------------------------------------------------------------- */

/* The file's bytes as they are (what the user checked). EXIT_INVALID when unreadable. */
static int read_policy(const char *path, char **ret, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;
	ssize_t r = 0;
	size_t got = 0;
	char *buf = NULL;

	if (fd < 0 || fstat(fd, &st)) {
		err = errno;
		fprintf(stderr, "%s: cannot read: %s\n", path, strerror(err));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size > CONTROL_MSG_MAX) {
		err = EINVAL;
		fprintf(stderr, "%s: not a regular file of at most %u MiB (what ward apply sends)\n",
			path, CONTROL_MSG_MAX >> 20);
		goto out;
	}
	buf = malloc(st.st_size + 1);
	if (!buf) {
		err = ENOMEM;
		fprintf(stderr, "%s: out of memory\n", path);
		goto out;
	}
	while (got < (size_t)st.st_size && (r = read(fd, buf + got, st.st_size - got)) > 0)
		got += r;
	if (r < 0 || got != (size_t)st.st_size) {
		err = EIO;
		fprintf(stderr, "%s: short read (file changed while reading?)\n", path);
		goto out;
	}
	buf[got] = '\0';
	*ret = buf;
	*len = got;
	buf = NULL;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return err ? EXIT_INVALID : 0;
}

static void print_applied(json_t *reply, const char *path, unsigned confirm_s)
{
	const char *name = json_string_value(json_object_get(reply, "name"));
	json_t *rev = json_object_get(reply, "revision");
	const char *warnings = json_string_value(json_object_get(reply, "warnings"));

	print_text(stderr, warnings);
	printf("ward apply: %s: policy \"%s\" revision %lld in force\n", path, name ? name : "?",
	       json_is_integer(rev) ? (long long)json_integer_value(rev) : -1LL);
	if (confirm_s) {
		time_t by = time(NULL) + confirm_s;
		struct tm tm;
		char when[32] = "";

		if (localtime_r(&by, &tm))
			strftime(when, sizeof(when), "%H:%M:%S", &tm);
		printf("ward apply: on probation: the agent rolls back to the previous policy unless "
		       "`ward confirm` reaches it within %u s (by %s)\n",
		       confirm_s, when);
	}
}

int cmd_apply(int argc, char **argv)
{
	struct client_opts o = {};
	char *text = NULL, *sock = NULL, abs[PATH_MAX];
	json_t *req = NULL, *reply = NULL;
	const char *file;
	size_t len = 0;
	int rc;

	rc = parse_opts(argc, argv, true, &o);
	if (rc)
		return rc < 0 ? EXIT_OK : (usage(true), rc);
	if (optind != argc - 1) {
		usage(true);
		return EXIT_USAGE;
	}
	file = argv[optind];
	rc = read_policy(file, &text, &len);
	if (rc)
		return rc;
	if (!realpath(file, abs))
		snprintf(abs, sizeof(abs), "%s", file);
	rc = socket_path("ward apply", &o, &sock);
	if (rc)
		goto out;
	req = json_pack("{s:s,s:s,s:s%,s:i}", "cmd", "apply", "policy_path", abs, "policy_text",
			text, len, "confirm_within", (int)o.confirm_s);
	if (!req) {
		fprintf(stderr, "ward apply: %s: cannot send it (not UTF-8 text?)\n", file);
		rc = EXIT_INVALID;
		goto out;
	}
	rc = request("ward apply", sock, req, &reply);
	if (rc)
		goto out;
	if (o.json)
		print_json(reply);
	if (json_is_true(json_object_get(reply, "ok"))) {
		if (!o.json)
			print_applied(reply, abs, o.confirm_s);
		rc = EXIT_OK;
	} else {
		rc = reply_failed("ward apply", reply,
				  o.json ? NULL : "policy not applied; the agent keeps the policy it had");
	}
out:
	json_decref(req);
	json_decref(reply);
	free(text);
	free(sock);
	return rc;
}

/* ---- ward confirm ------------------------------------------------------------- */

int cmd_confirm(int argc, char **argv)
{
	struct client_opts o = {};
	json_t *req = NULL, *reply = NULL;
	char *sock = NULL;
	int rc;

	rc = parse_opts(argc, argv, false, &o);
	if (rc)
		return rc < 0 ? EXIT_OK : (usage(false), rc);
	if (optind != argc) {
		usage(false);
		return EXIT_USAGE;
	}
	rc = socket_path("ward confirm", &o, &sock);
	if (rc)
		return rc;
	req = json_pack("{s:s}", "cmd", "confirm");
	rc = req ? request("ward confirm", sock, req, &reply) : EXIT_RUNTIME;
	if (rc)
		goto out;
	if (o.json)
		print_json(reply);
	if (json_is_true(json_object_get(reply, "ok"))) {
		const char *name = json_string_value(json_object_get(reply, "name"));
		json_t *rev = json_object_get(reply, "revision");

		if (!o.json && name && json_is_integer(rev))
			printf("ward confirm: policy \"%s\" revision %lld confirmed: it stays\n", name,
			       (long long)json_integer_value(rev));
		else if (!o.json)
			printf("ward confirm: confirmed: the applied policy stays\n");
		rc = EXIT_OK;
	} else {
		rc = reply_failed("ward confirm", reply,
				  o.json ? NULL
					 : "no rollback was pending (`ward status` shows the "
					   "policy in force)");
	}
out:
	json_decref(req);
	json_decref(reply);
	free(sock);
	return rc;
}
