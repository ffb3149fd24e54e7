/* SPDX-License-Identifier: MIT */
/* Secrets never reach a report, a log or the journal.  Every string the
 * core prints or records from a check (summary, details, parameters, error
 * messages) goes through these. */
#ifndef GATE_REDACT_H
#define GATE_REDACT_H

#include <jansson.h>

/* A new string with secrets replaced by "***":
 *  - libpq conninfo `password=...` (quoted or not, any case, spaces around =)
 *  - URI userinfo passwords: scheme://user:SECRET@host -> scheme://user:***@host
 *  - URI query parameters password=... (libpq URIs)
 *  - every value registered with redact_register_secret() (values that came
 *    from ${env:...} in a secret parameter or header, for instance). */
char *redact_string(const char *s);

/* Redact every string inside a JSON value, in place. */
void redact_json(json_t *v);

/* The shortest secret that can be masked: masking a shorter one ("ab")
 * everywhere would garble every report.  Nothing is silently left out:
 * the runbook loader refuses (78) a secret value shorter than this, or
 * empty, and redact_register_secret() refuses it too. */
#define REDACT_MIN_SECRET_LEN 4

/* Remember a literal that must never be printed (copied; the table grows
 * as needed).  0, or -1 for NULL or a value shorter than
 * REDACT_MIN_SECRET_LEN (not registered: the caller must not go on as if
 * it were masked). */
int redact_register_secret(const char *value);
void redact_reset(void);

#endif
