/* SPDX-License-Identifier: MIT */
/*
 * gate serve and systemd (libsystemd): socket activation, sd_notify, the
 * watchdog (gate/cli_serve.h; the units in examples/systemd/).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "cli_serve.h"
#include "msg.h"
#include "kit/clock.h"
#include "kit/io.h"

int serve_sd_listen_fd(void)
{
	/* 1: LISTEN_FDS and LISTEN_PID are unset, so the evaluations'
	 * children never think a socket was passed to them. */
	int n = sd_listen_fds(1);
	if (n < 0) {
		msg_error("serve: the sockets systemd passed: %s", strerror(-n));
		return -2;
	}
	if (n == 0)
		return -1;
	if (n > 1) {
		msg_error("serve: systemd passed %d sockets; gate serve listens on one", n);
		return -2;
	}
	int fd = SD_LISTEN_FDS_START;
	if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
		msg_error("serve: the socket systemd passed is not a listening stream socket");
		return -2;
	}
	return fd;
}

void serve_sd_notify(const char *state)
{
	sd_notify(0, state);
}

void serve_sd_reloading(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
	           (unsigned long long)ts.tv_sec * 1000000ULL +
	                   (unsigned long long)ts.tv_nsec / 1000ULL);
}

/* ---- the watchdog ---- */

static struct {
	struct serve *sv;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int64_t interval_ms;
	pthread_t thread;
	int started;
} wd;

/* The listening address, as a client reaches it: "any" is loopback. */
static int probe_address(int listen_fd)
{
	wd.addrlen = sizeof(wd.addr);
	if (getsockname(listen_fd, (struct sockaddr *)&wd.addr, &wd.addrlen) < 0)
		return -1;
	if (wd.addr.ss_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&wd.addr;
		if (a->sin_addr.s_addr == htonl(INADDR_ANY))
			a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else if (wd.addr.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&wd.addr;
		if (!memcmp(&a->sin6_addr, &in6addr_any, sizeof(in6addr_any)))
			a->sin6_addr = in6addr_loopback;
	} else {
		return -1;
	}
	return 0;
}

/* Wait for fd to be ready for events until deadline; 1 ready. */
static int ready(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - gate_mono_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = {.fd = fd, .events = events};
		int r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		return r > 0;
	}
}

/* GET /healthz answered 200 before deadline. */
static int responsive(int64_t deadline)
{
	int fd = socket(wd.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return 0;
	int ok = 0;
	static const char req[] = "GET /healthz HTTP/1.0\r\nHost: gate\r\n\r\n";
	char buf[64] = {0};
	size_t got = 0;
	if (connect(fd, (struct sockaddr *)&wd.addr, wd.addrlen) == 0 || errno == EINPROGRESS)
		ok = ready(fd, POLLOUT, deadline) && write_full(fd, req, sizeof(req) - 1) == 0;
	while (ok && got < 12 && ready(fd, POLLIN, deadline)) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return ok && got >= 12 && !strncmp(buf, "HTTP/1.", 7) && !strncmp(buf + 9, "200", 3);
}

static void *watchdog_main(void *arg)
{
	(void)arg;
	int warned = 0;
	for (;;) {
		/* the sleep: the cancel pipe is written when gate serve stops */
		struct pollfd p = {.fd = wd.sv->cancel[0], .events = POLLIN};
		int r = poll(&p, 1, (int)wd.interval_ms);
		if (r > 0 || (r < 0 && errno != EINTR))
			return NULL;
		if (r < 0)
			continue;
		if (responsive(gate_mono_ms() + wd.interval_ms)) {
			sd_notify(0, "WATCHDOG=1");
			warned = 0;
		} else if (!warned) {
			msg_error("serve: the server did not answer its own GET /healthz: no "
			          "WATCHDOG=1 (systemd will stop it)");
			warned = 1;
		}
	}
}

int serve_sd_watchdog_start(struct serve *sv, int listen_fd)
{
	uint64_t usec = 0;
	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return 0;
	wd.sv = sv;
	wd.interval_ms = (int64_t)(usec / 2000);
	if (wd.interval_ms < 1)
		wd.interval_ms = 1;
	if (probe_address(listen_fd) < 0) {
		msg_error("serve: the watchdog cannot probe the listening socket");
		return -1;
	}
	if (pthread_create(&wd.thread, NULL, watchdog_main, NULL) != 0)
		return -1;
	wd.started = 1;
	sd_notify(0, "WATCHDOG=1");
	return 1;
}

void serve_sd_watchdog_join(void)
{
	if (wd.started)
		pthread_join(wd.thread, NULL);
	wd.started = 0;
}
