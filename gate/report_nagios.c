/* SPDX-License-Identifier: MIT */
/*
 * Nagios/Icinga plugin output: one line, "GATE <STATE> - text | perfdata"
 * (monitoring-plugins guidelines), the state matching
 * report_nagios_status().  The text never contains '|' or a newline.
 */
#include <string.h>

#include "redact.h"
#include "report_impl.h"
#include "kit/strbuf.h"
#include "kit/text.h"

/* Outside text in the one line: redacted, on one line, controls escaped
 * (kit/text.h), and no '|' that would start the perfdata. */
static void add_plain(struct strbuf *sb, const char *s)
{
	char *red = redact_string(s);
	char *safe = text_safe(red, TEXT_ONE_LINE);
	for (const char *p = safe; *p; p++)
		strbuf_add(sb, *p == '|' ? "/" : p, 1);
	free(safe);
	free(red);
}

int report_write_nagios(FILE *out, const struct eval *ev)
{
	static const char *const states[] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};
	int st = report_nagios_status(ev);
	struct strbuf sb = STRBUF_INIT;
	const char *name = ev && ev->rb && ev->rb->name ? ev->rb->name : "?";
	size_t nfailed = 0, nwarn = 0, npass = 0;
	for (size_t i = 0; ev && i < ev->nresults; i++) {
		const struct check_result *r = &ev->results[i];
		nfailed += report_is_failed(r);
		nwarn += report_is_warning(r);
		npass += r->status == CHECK_PASS;
	}

	strbuf_addf(&sb, "GATE %s - ", states[st]);
	switch (st) {
	case 0:
		strbuf_addf(&sb, "allowed: %s, %zu of %zu checks passed", name, npass,
		            ev->nresults);
		break;
	case 1: {
		strbuf_addf(&sb, "allowed with warnings: %s: ", name);
		const char *sep = "";
		for (size_t i = 0; i < ev->nresults; i++) {
			const struct check_result *r = &ev->results[i];
			if (!report_is_warning(r))
				continue;
			strbuf_adds(&sb, sep);
			add_plain(&sb, r->id);
			strbuf_adds(&sb, ": ");
			add_plain(&sb, r->summary ? r->summary : check_status_name(r->status));
			sep = "; ";
		}
		break;
	}
	case 2:
		strbuf_addf(&sb, "blocked: %s: ", name);
		for (size_t i = 0; i < ev->nreasons; i++) {
			if (i)
				strbuf_adds(&sb, "; ");
			add_plain(&sb, ev->reasons[i]);
		}
		break;
	default:
		strbuf_addf(&sb, "%s: nothing was evaluated", name);
		break;
	}
	strbuf_addf(&sb, " | checks=%zu;;; failed=%zu;;; warnings=%zu;;; duration=%.2fs;;;\n",
	            ev ? ev->nresults : 0, nfailed, nwarn,
	            ev && ev->duration_ms > 0 ? ev->duration_ms / 1000 : 0.0);

	int rc = fputs(sb.buf, out) < 0 ? -1 : 0;
	strbuf_release(&sb);
	return rc;
}
