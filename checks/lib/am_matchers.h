/* SPDX-License-Identifier: MIT */
/* Alertmanager's matchers as people write them (amtool, the `filter`
 * parameter of GET /api/v2/alerts, a route's `matchers:`): NAME=VALUE,
 * NAME!=VALUE, NAME=~REGEX, NAME!~REGEX, the value quoted or bare.  Shared
 * by the check alertmanager.alerts (checks/http_alertmanager.c) and the
 * maintenance kind that silences (holds/maint_alertmanager.c).
 *
 * The value is read as Alertmanager 0.25 reads it (doc/facts.md): inside
 * a value \" is a quote, \\ a backslash and \n a newline; a backslash
 * before anything else stays as written (so a regular expression's "\."
 * reaches the regex unchanged); an unescaped quote anywhere but at the
 * end of a quoted value is an error.  Pure: no I/O. */
#ifndef GATE_CHECKS_LIB_AM_MATCHERS_H
#define GATE_CHECKS_LIB_AM_MATCHERS_H

#include <stddef.h>

#include <jansson.h>

/* One matcher into {"name", "value", "isRegex", "isEqual"} (the shape of
 * API v2's silences).  -1 with err. */
int am_matcher_parse(const char *text, json_t **out, char *err, size_t errlen);
/* The parsed matchers of a list of such strings; NULL with err (naming
 * the item) when one does not parse or the list is empty. */
json_t *am_matchers_parse(const json_t *texts, char *err, size_t errlen);
/* {alertname="X", severity=~"crit.*"}.  Caller frees. */
char *am_matchers_text(const json_t *matchers);

#endif
