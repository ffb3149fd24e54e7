/* SPDX-License-Identifier: MIT */
/*
 * `gate serve [--listen ADDR:PORT] [--min-interval DUR] RUNBOOK...`
 * (gate(1), SERVE): the options, the start, the signal loop (SIGHUP
 * reloads, SIGTERM and SIGINT stop), and systemd's notifications around
 * them.  The runbooks and their evaluations: gate/cli_serve_eval.c; the
 * endpoints: gate/cli_serve_http.c; systemd: gate/cli_serve_sd.c.
 */
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_serve.h"
#include "msg.h"
#include "values.h"
#include "kit/alloc.h"
#include "kit/strbuf.h"

#define SERVE_DEFAULT_MIN_INTERVAL_MS 10000

/* ADDR:PORT or [ADDR]:PORT into *ss; 0, or EXIT_USAGE after the message. */
static int parse_listen(const char *arg, struct sockaddr_storage *ss, socklen_t *len)
{
	const char *colon = strrchr(arg, ':');
	if (!colon || colon == arg || !colon[1])
		return cli_usage_error("serve", "--listen '%s': not ADDR:PORT", arg);
	char *host = xstrndup(arg, (size_t)(colon - arg));
	size_t hl = strlen(host);
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai;
	int e = getaddrinfo(host, colon + 1, &hints, &ai);
	free(host);
	if (e != 0)
		return cli_usage_error("serve", "--listen '%s': %s", arg, gai_strerror(e));
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

struct serve_opts {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	const char *listen;
	int64_t min_interval_ms;
	char **runbooks;
	size_t nrunbooks;
};

/* -1 to go on, or the exit status. */
static int parse(int argc, char **argv, struct serve_opts *so)
{
	static const struct option longopts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"min-interval", required_argument, NULL, 'i'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	so->listen = SERVE_DEFAULT_LISTEN;
	so->min_interval_ms = SERVE_DEFAULT_MIN_INTERVAL_MS;
	optind = 1;
	opterr = 0;
	for (int c; (c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1;) {
		if (c == 'h') {
			fputs(cli_serve_help, stdout);
			return 0;
		} else if (c == 'l') {
			so->listen = optarg;
		} else if (c == 'i') {
			if (parse_duration_ms(optarg, &so->min_interval_ms) < 0 &&
			    strcmp(optarg, "0"))
				return cli_usage_error(
					"serve", "--min-interval '%s': not a duration", optarg);
			if (!strcmp(optarg, "0"))
				so->min_interval_ms = 0;
		} else {
			return cli_usage_error("serve", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (parse_listen(so->listen, &so->addr, &so->addrlen) != 0)
		return EXIT_USAGE;
	so->runbooks = argv + optind;
	so->nrunbooks = (size_t)(argc - optind);
	if (!so->nrunbooks)
		return cli_usage_error("serve", "no runbook given");
	return -1;
}

/* "127.0.0.1:9741": where it listens, for the log. */
static void describe_listen(int fd, char *buf, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[NI_MAXHOST] = "?", port[NI_MAXSERV] = "?";
	if (fd >= 0 && getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port, sizeof(port),
		            NI_NUMERICHOST | NI_NUMERICSERV);
	snprintf(buf, n, strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
}

/* Wait for signals: SIGHUP reloads, SIGTERM or SIGINT ends the wait. */
static void signal_loop(struct serve *sv, const sigset_t *set)
{
	for (;;) {
		int sig = 0;
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig != SIGHUP) {
			msg_note("serve: stopping (signal %d): evaluations under way are killed",
			         sig);
			return;
		}
		serve_sd_reloading();
		size_t failed = serve_load_all(sv);
		char status[128];
		snprintf(status, sizeof(status),
		         "READY=1\nSTATUS=reloaded: %zu of %zu runbooks valid", sv->nrbs - failed,
		         sv->nrbs);
		serve_sd_notify(status);
		msg_note("serve: reloaded: %zu of %zu runbooks valid", sv->nrbs - failed, sv->nrbs);
	}
}

int serve_command(int argc, char **argv)
{
	struct serve_opts so = {0};
	int rc = parse(argc, argv, &so);
	if (rc >= 0)
		return rc;
	/* Before any thread (libmicrohttpd's, the evaluations'): blocked in
	 * all of them, taken by sigwait below.  Each evaluation's child gets
	 * an empty mask (gate/cli_serve_eval.c). */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN); /* a client gone is an error of a write */

	struct serve sv;
	if (serve_init(&sv, so.runbooks, so.nrunbooks, so.min_interval_ms) < 0) {
		serve_release(&sv);
		return EXIT_CONFIG;
	}
	int fd = serve_sd_listen_fd();
	struct MHD_Daemon *d = NULL;
	if (fd != -2) {
		serve_load_all(&sv);
		d = serve_http_start(&sv, fd, (struct sockaddr *)&so.addr, so.addrlen);
	}
	if (!d) {
		if (fd != -2)
			msg_error("serve: cannot listen on %s",
			          fd >= 0 ? "the socket systemd passed" : so.listen);
		serve_release(&sv);
		return 1;
	}
	char where[NI_MAXHOST + NI_MAXSERV + 4];
	int lfd = serve_http_listen_fd(d);
	describe_listen(lfd, where, sizeof(where));
	pthread_mutex_lock(&sv.lock);
	serve_kick_stale_locked(&sv); /* the first evaluations, for /metrics */
	pthread_mutex_unlock(&sv.lock);
	msg_note("serve: %zu runbook%s on http://%s%s (gate %s)", sv.nrbs, sv.nrbs == 1 ? "" : "s",
	         where, fd >= 0 ? ", a socket passed by systemd" : "", GATE_VERSION);
	char status[NI_MAXHOST + NI_MAXSERV + 64];
	snprintf(status, sizeof(status), "READY=1\nSTATUS=serving on %s", where);
	serve_sd_notify(status);
	serve_sd_watchdog_start(&sv, lfd);

	signal_loop(&sv, &set);

	serve_sd_notify("STOPPING=1");
	serve_stop(&sv); /* evaluations killed, waiting requests answered 503 */
	serve_sd_watchdog_join();
	serve_http_stop(d);
	serve_release(&sv);
	return 0;
}
