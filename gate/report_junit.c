/* SPDX-License-Identifier: MIT */
/*
 * JUnit XML: one <testsuite>, one <testcase> per check (runbook order,
 * pseudo-checks last) and a last <testcase name="decision"> that fails
 * when gate blocks, so a CI job reading the file turns red exactly when
 * the change must not start (also when no single check failed: no
 * blocking check at all, a failed required audit).  fail and error are
 * <failure> (type="fail"/"error"; warn-severity ones say so in type and
 * message), skip is <skipped>.
 */
#include <string.h>

#include "redact.h"
#include "report_impl.h"
#include "kit/alloc.h"
#include "kit/strbuf.h"
#include "kit/text.h"
#include "kit/timefmt.h"

/* Text as XML character data or attribute value: controls and broken
 * UTF-8 escaped visibly first (kit/text.h: XML 1.0 cannot carry C0
 * controls, and a terminal showing the file must not obey C1 ones), then
 * markup escaped; U+FFFE and U+FFFF, not XML characters, become '?'. */
static void xml_add(struct strbuf *sb, const char *s, int attr)
{
	char *safe = text_safe(s, TEXT_KEEP_NEWLINE | TEXT_KEEP_TAB);
	const unsigned char *p = (const unsigned char *)safe;
	while (*p) {
		switch (*p) {
		case '&':
			strbuf_adds(sb, "&amp;");
			p++;
			continue;
		case '<':
			strbuf_adds(sb, "&lt;");
			p++;
			continue;
		case '>':
			strbuf_adds(sb, "&gt;");
			p++;
			continue;
		case '"':
			strbuf_adds(sb, "&quot;");
			p++;
			continue;
		case '\'':
			strbuf_adds(sb, "&apos;");
			p++;
			continue;
		case '\n':
			strbuf_adds(sb, attr ? "&#10;" : "\n");
			p++;
			continue;
		case '\t':
			strbuf_adds(sb, attr ? "&#9;" : "\t");
			p++;
			continue;
		case '\r':
			strbuf_adds(sb, "&#13;");
			p++;
			continue;
		default:
			break;
		}
		size_t n = 0;
		long cp = *p < 0x20
		                  ? -1
		                  : text_utf8_decode((const char *)p, strlen((const char *)p), &n);
		if (cp < 0 || cp == 0xfffe || cp == 0xffff) {
			strbuf_adds(sb, "?");
			p++;
			continue;
		}
		strbuf_add(sb, (const char *)p, n);
		p += n;
	}
	free(safe);
}

static void xml_addr(struct strbuf *sb, const char *s, int attr)
{
	char *red = redact_string(s ? s : "");
	xml_add(sb, red, attr);
	free(red);
}

static void seconds(struct strbuf *sb, double ms)
{
	strbuf_addf(sb, "%.3f", ms > 0 ? ms / 1000 : 0.0);
}

static void testcase(struct strbuf *sb, const char *suite, const struct check_result *r)
{
	strbuf_adds(sb, "  <testcase classname=\"");
	xml_add(sb, suite, 1);
	strbuf_adds(sb, "\" name=\"");
	xml_add(sb, r->id, 1);
	strbuf_adds(sb, "\" time=\"");
	seconds(sb, r->duration_ms);
	strbuf_adds(sb, "\">\n");

	char *summary = report_summary(r);
	struct strbuf body = STRBUF_INIT;
	report_details_lines(&body, r->details, "");
	if (r->hint)
		strbuf_addf(&body, "hint: %s\n", r->hint);

	if (r->status == CHECK_FAIL || r->status == CHECK_ERROR) {
		int warn = r->severity == RB_SEVERITY_WARN;
		strbuf_addf(sb, "    <failure type=\"%s%s\" message=\"",
		            check_status_name(r->status), warn ? "-warning" : "");
		if (warn)
			strbuf_adds(sb, "warning (does not block): ");
		xml_add(sb, summary, 1);
		strbuf_adds(sb, "\">");
		xml_addr(sb, body.buf ? body.buf : "", 0);
		strbuf_adds(sb, "</failure>\n");
	} else if (r->status == CHECK_SKIP) {
		strbuf_adds(sb, "    <skipped message=\"");
		xml_add(sb, summary, 1);
		strbuf_adds(sb, "\"/>\n");
	}
	strbuf_adds(sb, "    <system-out>");
	strbuf_addf(sb, "%s: ", check_status_name(r->status));
	xml_add(sb, summary, 0);
	if (r->status == CHECK_OVERRIDDEN)
		strbuf_addf(sb, " (overridden, was %s)", check_status_name(r->raw_status));
	strbuf_adds(sb, "</system-out>\n");
	strbuf_adds(sb, "  </testcase>\n");
	strbuf_release(&body);
	free(summary);
}

static void property(struct strbuf *sb, const char *name, const char *value)
{
	strbuf_addf(sb, "    <property name=\"%s\" value=\"", name);
	xml_addr(sb, value, 1);
	strbuf_adds(sb, "\"/>\n");
}

int report_write_junit(FILE *out, const struct eval *ev)
{
	struct strbuf sb = STRBUF_INIT;
	const char *name = ev->rb && ev->rb->name ? ev->rb->name : "runbook";
	char *suite = xasprintf("gate.%s", name);
	size_t nfail = 0, nskip = 0;
	for (size_t i = 0; i < ev->nresults; i++) {
		nfail += ev->results[i].status == CHECK_FAIL ||
		         ev->results[i].status == CHECK_ERROR;
		nskip += ev->results[i].status == CHECK_SKIP;
	}
	nfail += !ev->allow; /* the decision testcase */

	char started[64];
	gate_format_time(ev->started_at_ms, started, sizeof(started));
	started[19] = '\0'; /* the JUnit schema's timestamp has no zone (it is UTC) */

	strbuf_adds(&sb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"");
	xml_add(&sb, suite, 1);
	strbuf_addf(&sb, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" time=\"",
	            ev->nresults + 1, nfail, nskip);
	seconds(&sb, ev->duration_ms);
	strbuf_addf(&sb, "\" timestamp=\"%s\">\n", started);

	strbuf_adds(&sb, "  <properties>\n");
	property(&sb, "decision", ev->allow ? "allow" : "block");
	property(&sb, "mode", eval_mode_name(ev->mode));
	if (ev->rb && ev->rb->path)
		property(&sb, "runbook_path", ev->rb->path);
	char *cmd = report_command_line(ev);
	if (cmd)
		property(&sb, "command", cmd);
	free(cmd);
	strbuf_adds(&sb, "  </properties>\n");

	for (size_t i = 0; i < ev->nresults; i++)
		testcase(&sb, suite, &ev->results[i]);

	strbuf_adds(&sb, "  <testcase classname=\"");
	xml_add(&sb, suite, 1);
	strbuf_adds(&sb, "\" name=\"decision\" time=\"0.000\">\n");
	if (!ev->allow) {
		strbuf_addf(&sb, "    <failure type=\"block\" message=\"blocked: %zu reason%s\">",
		            ev->nreasons, ev->nreasons == 1 ? "" : "s");
		for (size_t i = 0; i < ev->nreasons; i++) {
			xml_addr(&sb, ev->reasons[i], 0);
			strbuf_adds(&sb, "\n");
		}
		strbuf_adds(&sb, "</failure>\n");
	}
	strbuf_addf(&sb, "    <system-out>%s</system-out>\n", ev->allow ? "allow" : "block");
	strbuf_adds(&sb, "  </testcase>\n</testsuite>\n");

	int rc = fputs(sb.buf, out) < 0 ? -1 : 0;
	strbuf_release(&sb);
	free(suite);
	return rc;
}
