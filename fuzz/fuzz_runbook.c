/* SPDX-License-Identifier: MIT */
/* The runbook loader (gate/runbook.c on gate/yamltree.c): the input is a
 * runbook file, examples/runbook.yaml in a private directory that also
 * holds a copy of every policies/NAME.yaml of the tree (so an include of
 * ../policies/NAME.yaml resolves as in examples/) and examples/inc.yaml,
 * a small include with vars, windows and freezes.  Validated against the
 * built-in check types, with a --var when the input mentions cli_var.  A
 * loaded runbook is then asked what the CLI asks of it (allowed commands,
 * open windows). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "checks/builtin.h"
#include "fuzz.h"
#include "gate/registry.h"
#include "kit/timefmt.h"
#include "gate/runbook.h"
#include "gate/window.h"
#include "sandbox.h"

#ifndef FUZZ_SOURCE_DIR
#define FUZZ_SOURCE_DIR "."
#endif

static struct gate_registry reg;
static char rb_path[PATH_MAX];

static const char inc_yaml[] =
	"version: 1\n"
	"vars:\n"
	"  inc_url: http://127.0.0.1:9090\n"
	"  inc_age: 26h\n"
	"window:\n"
	"  - {days: [mon, tue, wed, thu], start: \"01:00\", end: \"05:00\", timezone: UTC}\n"
	"  - {days: [sat, sun], start: \"22:00\", end: \"06:00\"}\n"
	"freeze:\n"
	"  - {from: 2026-12-20T00:00:00Z, to: 2027-01-04T00:00:00Z, reason: year end}\n"
	"checks:\n"
	"  - id: inc-alerts\n"
	"    type: prometheus.alerts\n"
	"    with: {url: \"${inc_url}\", match: {severity: critical}}\n";

static void registry_free(void)
{
	registry_release(&reg);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_dir_make("runbook");
	fuzz_mkdir("examples");
	fuzz_mkdir("policies");
	fuzz_write("examples/inc.yaml", inc_yaml, sizeof(inc_yaml) - 1);
	DIR *d = opendir(FUZZ_SOURCE_DIR "/policies");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n > 5 && !strcmp(e->d_name + n - 5, ".yaml")) {
			char src[PATH_MAX], rel[PATH_MAX];
			snprintf(src, sizeof(src), "%s/policies/%s", FUZZ_SOURCE_DIR, e->d_name);
			snprintf(rel, sizeof(rel), "policies/%s", e->d_name);
			fuzz_copy(src, rel);
		}
	}
	if (d)
		closedir(d);
	snprintf(rb_path, sizeof(rb_path), "%s/examples/runbook.yaml", fuzz_dir);
	setenv("GATE_FUZZ_SECRET", "fuzz-secret-value", 1);
	registry_init(&reg);
	registry_add_builtins(&reg, gate_builtin_modules);
	atexit(registry_free);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_write("examples/runbook.yaml", data, size);
	static const struct rb_var vars[] = {{"cli_var", "from-the-command-line"}};
	struct runbook_load_opts opts = {0};
	if (memmem(data, size, "cli_var", 7)) {
		opts.vars = vars;
		opts.nvars = 1;
	}
	struct runbook rb;
	struct gate_error err = {0};
	if (runbook_load(&rb, rb_path, &opts, &reg, &err) == 0) {
		static char *const argv1[] = {"apt-get", "install", "postgresql-15", NULL};
		static char *const argv2[] = {"systemctl", "reboot", NULL};
		(void)runbook_command_allowed(&rb, argv1);
		(void)runbook_command_allowed(&rb, argv2);
		int64_t now = (int64_t)time(NULL) * 1000;
		for (size_t i = 0; i < rb.nwindows; i++)
			(void)window_contains(&rb.windows[i], now);
		(void)windows_next_open(rb.windows, rb.nwindows, now);
		struct window_facts wf;
		window_facts_at(rb.windows, rb.nwindows, now, &wf);
		char buf[64];
		fmt_duration_ms(rb.timeout_ms, buf, sizeof(buf));
		for (size_t i = 0; i < rb.nchecks; i++) {
			fmt_duration_ms(rb.checks[i].timeout_ms, buf, sizeof(buf));
			char *s = json_dumps(rb.checks[i].params, JSON_COMPACT);
			free(s);
		}
	} else if (!err.set) {
		abort(); /* a failure always says why */
	}
	char msg[2048];
	gate_error_format(&err, msg, sizeof(msg));
	runbook_release(&rb);
	return 0;
}
