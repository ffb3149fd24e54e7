/* SPDX-License-Identifier: MIT */
/* trust (gate/trust.c): who may have written a runbook or a module.  Rows
 * of {file owner, file mode, directory owner, directory mode, running
 * user, trusted?, words of the message}; the owners need root to set, so
 * as another user only the rows that need no chown run. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trust.h"
#include "kit/alloc.h"

#define U 4242 /* an unprivileged user */
#define V 4343 /* another one */

struct row {
	uid_t fuid;
	mode_t fmode;
	uid_t duid;
	mode_t dmode;
	uid_t me;
	int ok;
	const char *want; /* in the message */
};

static const struct row rows[] = {
	{0, 0644, 0, 0755, 0, 1, NULL},
	{0, 0600, 0, 0700, 0, 1, NULL},
	{0, 0444, 0, 0555, 0, 1, NULL},
	{0, 0664, 0, 0755, 0, 0,
         "writable by group (mode 0664); gate runs as root and would run the checks it names: "
         "chmod go-w "},
	{0, 0646, 0, 0755, 0, 0, "writable by others (mode 0646)"},
	{U, 0644, 0, 0755, 0, 0, "owned by uid 4242, not root; gate runs as root"},
	{U, 0666, 0, 0755, 0, 0,
         "owned by uid 4242, not root and writable by group and others (mode 0666)"},
	{0, 0644, 0, 0775, 0, 0, "is writable by group (mode 0775)"},
	{0, 0644, 0, 01777, 0, 0, "is writable by group and others (mode 1777)"},
	{0, 0644, U, 0755, 0, 0, "is owned by uid 4242, not root"},
	/* not root: root or the user itself */
	{U, 0644, U, 0755, U, 1, NULL},
	{0, 0644, 0, 0755, U, 1, NULL},
	{0, 0644, U, 0755, U, 1, NULL},
	{V, 0644, U, 0755, U, 0,
         "owned by uid 4343, neither root nor you (uid 4242); gate would run"},
	{U, 0644, V, 0755, U, 0, "its directory"},
	{U, 0664, U, 0755, U, 0, "writable by group (mode 0664)"},
	{U, 0644, 0, 01777, U, 0, "writable by group and others (mode 1777)"},
};

static char tmpdir[] = "/tmp/test_trust.XXXXXX";

static void test_rows(void **state)
{
	(void)state;
	int root = geteuid() == 0;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		if (!root && (r->fuid || r->duid))
			continue;
		char *dir = xasprintf("%s/d%zu", tmpdir, i);
		char *file = xasprintf("%s/f.yaml", dir);
		assert_int_equal(mkdir(dir, 0700), 0);
		int fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0600);
		assert_true(fd >= 0);
		close(fd);
		assert_int_equal(chmod(file, r->fmode), 0);
		assert_int_equal(chmod(dir, r->dmode), 0);
		if (root) {
			assert_int_equal(chown(file, r->fuid, 0), 0);
			assert_int_equal(chown(dir, r->duid, 0), 0);
		}
		uid_t me = root ? r->me : geteuid();
		struct gate_error err = {0};
		fd = trust_open(file, &err);
		assert_true(fd >= 0);
		int rc = trust_check_fd(fd, file, TRUST_RUNBOOK, me, &err);
		close(fd);
		if (rc != (r->ok ? 0 : -1) || (r->want && !strstr(err.msg, r->want)))
			fail_msg("row %zu: rc %d, message '%s'; want %s with '%s'", i, rc, err.msg,
			         r->ok ? "trusted" : "refused", r->want ? r->want : "");
		if (!r->ok)
			assert_string_equal(err.file, file);
		chmod(dir, 0700);
		unlink(file);
		rmdir(dir);
		free(file);
		free(dir);
	}
}

/* A module's message says what opening it would do. */
static void test_module_words(void **state)
{
	(void)state;
	char *file = xasprintf("%s/m.so", tmpdir);
	int fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chmod(file, 0620), 0);
	struct gate_error err = {0};
	fd = trust_open(file, &err);
	assert_int_equal(trust_check_fd(fd, file, TRUST_MODULE, geteuid(), &err), -1);
	close(fd);
	assert_non_null(strstr(err.msg, "would run its code as soon as it is loaded: chmod go-w"));
	unlink(file);
	free(file);
}

/* Not a regular file, a FIFO (opened without blocking), a missing file. */
static void test_not_regular(void **state)
{
	(void)state;
	struct gate_error err = {0};
	int fd = trust_open(tmpdir, &err);
	assert_true(fd >= 0);
	assert_int_equal(trust_check_fd(fd, tmpdir, TRUST_RUNBOOK, geteuid(), &err), -1);
	assert_string_equal(err.msg, "not a regular file");
	close(fd);
	char *fifo = xasprintf("%s/fifo", tmpdir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	memset(&err, 0, sizeof(err));
	fd = trust_open(fifo, &err);
	assert_true(fd >= 0);
	assert_int_equal(trust_check_fd(fd, fifo, TRUST_RUNBOOK, geteuid(), &err), -1);
	close(fd);
	unlink(fifo);
	free(fifo);
	memset(&err, 0, sizeof(err));
	assert_int_equal(trust_open("/nonexistent/x.yaml", &err), -1);
	assert_non_null(strstr(err.msg, "cannot open"));
}

/* A symbolic link from a safe directory to a file in an open one. */
static void test_symlink(void **state)
{
	(void)state;
	char *open_dir = xasprintf("%s/open", tmpdir);
	char *safe_dir = xasprintf("%s/safe", tmpdir);
	char *file = xasprintf("%s/rb.yaml", open_dir);
	char *link = xasprintf("%s/rb.yaml", safe_dir);
	assert_int_equal(mkdir(open_dir, 0700), 0);
	assert_int_equal(mkdir(safe_dir, 0755), 0);
	int fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0644);
	close(fd);
	assert_int_equal(chmod(open_dir, 01777), 0);
	assert_int_equal(symlink(file, link), 0);
	struct gate_error err = {0};
	fd = trust_open(link, &err);
	assert_int_equal(trust_check_fd(fd, link, TRUST_RUNBOOK, geteuid(), &err), -1);
	close(fd);
	assert_non_null(strstr(err.msg, open_dir));
	chmod(open_dir, 0755);
	memset(&err, 0, sizeof(err));
	fd = trust_open(link, &err);
	assert_int_equal(trust_check_fd(fd, link, TRUST_RUNBOOK, geteuid(), &err), 0);
	close(fd);
	unlink(link);
	unlink(file);
	rmdir(open_dir);
	rmdir(safe_dir);
	free(open_dir);
	free(safe_dir);
	free(file);
	free(link);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	return chmod(tmpdir, 0755);
}

static int teardown(void **state)
{
	(void)state;
	return rmdir(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_module_words),
		cmocka_unit_test(test_not_regular),
		cmocka_unit_test(test_symlink),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
