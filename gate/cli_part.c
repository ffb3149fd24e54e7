/* SPDX-License-Identifier: MIT */
/*
 * The command line's side of gate serve, which is a part of gate of its
 * own (part-serve.so, gate/part.h: it links libmicrohttpd and libsystemd,
 * which no other command needs): its help, and the command that loads the
 * part and hands it the arguments.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_serve.h"
#include "msg.h"
#include "part.h"

const char cli_serve_help[] =
	"usage: gate serve [--listen ADDR:PORT] [--min-interval DUR] RUNBOOK...\n"
	"\n"
	"Answer over HTTP whether each RUNBOOK would allow now: an on-call look for\n"
	"dashboards, load balancers and Prometheus.  Each evaluation is a `gate check\n"
	"--format json` of the runbook as last loaded; it runs no command, takes no\n"
	"lock and turns no maintenance on.  NAME is the runbook's file name without\n"
	".yaml (or .yml).\n"
	"\n"
	"  GET /v1/runbooks/NAME  the JSON report (200), or 503 when there is none\n"
	"  GET /healthz/NAME      200 allow, 503 block (with the first reason)\n"
	"  GET /metrics           Prometheus metrics of every runbook\n"
	"  GET /healthz           200 while the server answers\n"
	"\n"
	"An evaluation is reused for --min-interval; requests that come while one\n"
	"runs wait for it (one at a time per runbook), no longer than the runbook's\n"
	"timeout and a grace.  SIGHUP re-reads the runbooks (one that became invalid\n"
	"keeps being served as it was); SIGTERM and SIGINT stop, killing what runs.\n"
	"Under systemd: socket activation, sd_notify READY, RELOADING, STOPPING and\n"
	"WATCHDOG.\n"
	"\n"
	"Options:\n"
	"      --listen ADDR:PORT   where to listen (default " SERVE_DEFAULT_LISTEN
	", [ADDR]:PORT\n"
	"                           for IPv6); a socket passed by systemd wins\n"
	"      --min-interval DUR   reuse an evaluation this long (default 10s; 0: never)\n"
	"  -h, --help               this text\n"
	"\n"
	"Exit status:\n"
	"  0        stopped by SIGTERM or SIGINT\n"
	"  1        the server could not start (the address is in use...)\n"
	"  64       bad command line\n"
	"  78       two runbooks have the same name, or gate's part part-serve.so\n"
	"           cannot be loaded\n"
	"\n"
	"Example:\n"
	"  gate serve --listen 127.0.0.1:9741 /etc/gate/runbooks/*.yaml\n";

int cli_serve_main(int argc, char **argv)
{
	/* gate help serve and gate serve --help need no server */
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(cli_serve_help, stdout);
		return 0;
	}
	struct gate_error err = {0};
	const struct gate_part_serve *serve = gate_part_load("serve", &err);
	if (!serve || !serve->main) {
		msg_error("serve: cannot start without gate's %s",
		          err.set ? err.msg : "part-serve.so (it has no entry)");
		return EXIT_CONFIG;
	}
	return serve->main(argc, argv);
}
