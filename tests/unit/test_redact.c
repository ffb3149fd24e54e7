/* SPDX-License-Identifier: MIT */
/* redact (gate/redact.c): conninfo passwords in every form libpq accepts,
 * URI userinfo and query passwords, registered literals, JSON in place,
 * and the strings that must come through unchanged. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "redact.h"

struct row {
	const char *in, *want;
};

static const struct row rows[] = {
	/* libpq keyword/value conninfo */
	{"host=db1 password=secret dbname=postgres", "host=db1 password=*** dbname=postgres"},
	{"password=secret", "password=***"},
	{"host=db1 password = secret user=gate", "host=db1 password = *** user=gate"},
	{"host=db1 password\t=\tsecret", "host=db1 password\t=\t***"},
	{"host=db1 PASSWORD =x user=u", "host=db1 PASSWORD =*** user=u"},
	{"host=db1 Password=Hunter2", "host=db1 Password=***"},
	{"host=db1 password='a b\\'c' user=u", "host=db1 password=*** user=u"},
	{"password='with spaces' host=x", "password=*** host=x"},
	{"password='unterminated and long", "password=***"},
	{"password=\"dq value\" host=h", "password=*** host=h"},
	{"host=h sslpassword=keypass", "host=h sslpassword=***"},
	{"PGPASSWORD=s3cret psql -h x", "PGPASSWORD=*** psql -h x"},
	{"password= user=u", "password= ***"}, /* libpq too reads "user=u" as the value */
	{"password=", "password="},
	{"password=***abc host=h", "password=*** host=h"}, /* a secret that starts like the mask */
	/* in an error message */
	{"connection to \"host=db1 password=abc\" failed",
         "connection to \"host=db1 password=*** failed"},
	/* JSON or YAML text */
	{"{\"password\": \"s e c\", \"user\": \"u\"}", "{\"password\": ***, \"user\": \"u\"}"},
	{"password: hunter22", "password: ***"},
	/* URIs */
	{"postgresql://gate:SECRET@db1:5432/postgres", "postgresql://gate:***@db1:5432/postgres"},
	{"postgres://gate:SECRET@db1/postgres?sslmode=require",
         "postgres://gate:***@db1/postgres?sslmode=require"},
	{"https://u:SECRET@example.com/path", "https://u:***@example.com/path"},
	{"https://u:p%40ss@example.com", "https://u:***@example.com"},
	{"see https://a:b@h1 and https://c:d@h2/x", "see https://a:***@h1 and https://c:***@h2/x"},
	{"postgresql://db1/postgres?user=gate&password=SECRET&sslmode=require",
         "postgresql://db1/postgres?user=gate&password=***&sslmode=require"},
	{"postgresql://db1/postgres?password=SECRET", "postgresql://db1/postgres?password=***"},
	{"postgresql://u:pw@h?password=q", "postgresql://u:***@h?password=***"},
	{"https://u:p@ss@example.com/x", "https://u:***@example.com/x"}, /* raw @ in the password */
	/* tokens, secrets, HTTP credentials, command-line options */
	{"Authorization: Bearer abc.def.ghi", "Authorization: ***"},
	{"curl -H 'authorization: Basic dXNlcjpwdw==' https://h",
         "curl -H 'authorization: *** https://h"},
	{"https://h/api?x=1&access_token=abc123&y=2", "https://h/api?x=1&access_token=***&y=2"},
	{"client_secret=xyz789 scope=read", "client_secret=*** scope=read"},
	{"X-Api-Key: k-123", "X-Api-Key: ***"},
	{"mysql --password s3cret -h db", "mysql --password *** -h db"},
	{"tool --db-password=s3cret", "tool --db-password=***"},
	{"psql --no-password -h db1", "psql --no-password -h db1"},
	{"token expired", "token expired"},
	/* nothing to hide */
	{"postgresql://gate@db1/postgres", "postgresql://gate@db1/postgres"},
	{"postgresql://db1:5432/postgres", "postgresql://db1:5432/postgres"},
	{"https://example.com:8443/a@b", "https://example.com:8443/a@b"},
	{"host=db1 port=5432 dbname=postgres user=gate",
         "host=db1 port=5432 dbname=postgres user=gate"},
	{"password authentication failed for user \"gate\"",
         "password authentication failed for user \"gate\""},
	{"no password supplied", "no password supplied"},
	{"passwords=x", "passwords=x"},
	{"", ""},
};

static void test_strings(void **state)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *got = redact_string(rows[i].in);
		if (strcmp(got, rows[i].want) != 0)
			print_error("in:   %s\nwant: %s\ngot:  %s\n", rows[i].in, rows[i].want,
			            got);
		assert_string_equal(got, rows[i].want);
		/* idempotent */
		char *again = redact_string(got);
		assert_string_equal(again, got);
		free(again);
		free(got);
	}
}

static void test_null(void **state)
{
	char *s = redact_string(NULL);
	assert_string_equal(s, "");
	free(s);
}

static void test_literals(void **state)
{
	redact_reset();
	assert_int_equal(redact_register_secret("tok-123456"), 0);
	assert_int_equal(redact_register_secret("tok-123456"), 0); /* twice: once */
	char *s = redact_string("Authorization: Bearer tok-123456 (tok-123456) abc");
	assert_string_equal(s, "Authorization: *** (***) abc");
	free(s);

	redact_reset();
	s = redact_string("Bearer tok-123456");
	assert_string_equal(s, "Bearer tok-123456");
	free(s);
}

/* No limit drops a secret: the 64th, the 65th and the 1000th are masked
 * like the first (the table had 64 slots and ignored the rest). */
static void test_many_secrets(void **state)
{
	redact_reset();
	for (int i = 0; i < 1000; i++) {
		char v[32];
		snprintf(v, sizeof(v), "secret-%04d", i);
		assert_int_equal(redact_register_secret(v), 0);
	}
	char *s = redact_string("secret-0000 secret-0063 secret-0064 secret-0999 secret-1000");
	assert_string_equal(s, "*** *** *** *** secret-1000");
	free(s);
	redact_reset();
	s = redact_string("secret-0999");
	assert_string_equal(s, "secret-0999");
	free(s);
}

/* A value that cannot be masked is refused, never silently skipped: the
 * caller learns it is not protected (the loader refuses the runbook). */
static void test_unmaskable(void **state)
{
	redact_reset();
	assert_int_equal(redact_register_secret("abc"), -1);
	assert_int_equal(redact_register_secret("x"), -1);
	assert_int_equal(redact_register_secret(""), -1);
	assert_int_equal(redact_register_secret(NULL), -1);
	assert_int_equal(redact_register_secret("abcd"), 0); /* REDACT_MIN_SECRET_LEN */
	char *s = redact_string("abc abcd abcde");
	assert_string_equal(s, "abc *** ***e");
	free(s);
	redact_reset();
}

static void test_json(void **state)
{
	redact_reset();
	redact_register_secret("header-token-xyz");
	json_t *v = json_pack("{s:s, s:[s, {s:s}], s:s, s:i, s:b, s:n, s:{s:s}, s:s}", "conninfo",
	                      "host=db1 password=pw1", "list", "https://u:pw2@h/x", "k",
	                      "token header-token-xyz", "password", "plain", "token_count", 5,
	                      "password_set", 1, "api_token", "nested", "inner",
	                      "postgresql://a:pw3@h", "note", "ok");
	redact_json(v);
	char *s = json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(s,
	                    "{\"api_token\":null,\"conninfo\":\"host=db1 password=***\","
	                    "\"list\":[\"https://u:***@h/x\",{\"k\":\"token ***\"}],"
	                    "\"nested\":{\"inner\":\"postgresql://a:***@h\"},\"note\":\"ok\","
	                    "\"password\":\"***\",\"password_set\":true,\"token_count\":\"***\"}");
	free(s);
	json_decref(v);
	redact_json(NULL); /* harmless */
	redact_reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strings),    cmocka_unit_test(test_null),
		cmocka_unit_test(test_literals),   cmocka_unit_test(test_many_secrets),
		cmocka_unit_test(test_unmaskable), cmocka_unit_test(test_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
