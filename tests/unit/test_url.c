/* SPDX-License-Identifier: MIT */
/* checks/lib/url.c url_redact_password: the password of a URL's userinfo
 * masked through libcurl's URL parser.  Rows of {url, shown}.
 *
 * Only the userinfo is this function's business.  A token elsewhere in a
 * URL (?token=, ?access_token=, ?password=) is left as written here; the
 * core's redaction of every report, log and journal line (gate/redact.c)
 * masks `KEY=VALUE` pairs whose key ends in password, passwd, token,
 * secret, apikey or authorization, and again any scheme://user:SECRET@
 * in free text, e.g. a second URL inside a query string. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "checks/lib/url.h"

struct row {
	const char *url;
	const char *want;
	const char *comment;
};

static const struct row rows[] = {
	/* nothing to hide: exactly as written (no normalisation) */
	{"http://127.0.0.1:8008", "http://127.0.0.1:8008", "no userinfo, no path"},
	{"HTTP://Prom.example:9090/api/v1/alerts", "HTTP://Prom.example:9090/api/v1/alerts",
         "case kept"},
	{"https://gate@db.example/health", "https://gate@db.example/health", "user, no password"},
	{"http://[::1]:9090/api/v1/alerts", "http://[::1]:9090/api/v1/alerts", "IPv6 host"},
	{"http://h/x?token=abc&access_token=def#frag", "http://h/x?token=abc&access_token=def#frag",
         "a token in the query is the core's redaction's to mask"},
	/* a password */
	{"http://gate:hunter2@127.0.0.1:8080/json", "http://gate:***@127.0.0.1:8080/json",
         "user:pass@"},
	{"https://gate:hunter2@db.example", "https://gate:***@db.example/",
         "with a password the URL is curl's (a path '/' added)"},
	{"http://gate:p%40ss%3Aw0rd@127.0.0.1:1/", "http://gate:***@127.0.0.1:1/",
         "%-encoded '@' and ':' in the password"},
	{"http://us%3Aer:pw@127.0.0.1/", "http://us%3Aer:***@127.0.0.1/",
         "%-encoded ':' in the user stays in the user"},
	{"http://:hunter2@127.0.0.1/", "http://:***@127.0.0.1/", "empty user"},
	{"http://gate:@127.0.0.1/", "http://gate:***@127.0.0.1/", "empty password still masked"},
	{"http://gate:hunter2@[::1]:8008/cluster", "http://gate:***@[::1]:8008/cluster",
         "IPv6 host"},
	{"http://gate:hunter2@[fe80::1%25eth0]:8008/", "http://gate:***@[fe80::1%25eth0]:8008/",
         "IPv6 with a zone"},
	{"https://gate:hunter2@h/x?token=abc#top", "https://gate:***@h/x?token=abc#top",
         "query and fragment kept"},
	{"http://gate:hunter2@127.0.0.1:1/r?to=http://gate:hunter2@127.0.0.1:1/json",
         "http://gate:***@127.0.0.1:1/r?to=http://gate:hunter2@127.0.0.1:1/json",
         "a URL inside the query is text for the core's redaction"},
	/* curl cannot parse it: never shown raw */
	{"http://gate:p@ss@127.0.0.1/", "***", "an unencoded '@' in the password"},
	{"http://gate:hunter2@127.0.0.1:99999/", "***", "port out of range"},
	{"http://gate:hunter 2@h/", "***", "a space"},
	{"gate:hunter2@127.0.0.1:8008", "***", "no scheme"},
	{"http://gate:hunter2@[::1/", "***", "unclosed IPv6 bracket"},
	{"", "***", "empty"},
};

static void test_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		char *got = url_redact_password(r->url);
		if (strcmp(got, r->want))
			fail_msg("row %zu (%s): %s gave %s, want %s", i, r->comment, r->url, got,
			         r->want);
		if (strcmp(r->want, r->url) && strstr(got, "hunter2") &&
		    !strstr(r->comment, "core's"))
			fail_msg("row %zu (%s): the password is shown", i, r->comment);
		free(got);
	}
}

static void test_null(void **state)
{
	(void)state;
	char *got = url_redact_password(NULL);
	assert_string_equal(got, "");
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
