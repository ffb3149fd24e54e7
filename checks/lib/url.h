/* SPDX-License-Identifier: MIT */
/* A URL fit to show: the password of its userinfo masked, through
 * libcurl's own URL parser (the one that sends the request), so that what
 * is hidden is exactly what curl would have sent as the password. */
#ifndef GATE_CHECKS_URL_H
#define GATE_CHECKS_URL_H

/* What stands for a hidden password, or for a whole URL that cannot be
 * parsed. */
#define URL_MASK "***"

/* A copy of url with the password of its userinfo replaced by URL_MASK:
 * "https://user:***@host/path?q".  A URL without a password comes back
 * exactly as written; one that curl cannot parse comes back as URL_MASK
 * alone (fail closed: it is never shown raw); NULL gives "".  Only the
 * userinfo is touched: a token in the query or the fragment is left to the
 * core's redaction of reports.  Caller frees; aborts when out of memory. */
char *url_redact_password(const char *url);

#endif
