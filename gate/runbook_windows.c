/* SPDX-License-Identifier: MIT */
/*
 * The runbook loader's windows and freezes (runbook_impl.h): read and
 * checked here (days, HH:MM, an IANA zone that exists, RFC 3339 times);
 * what they mean at a given time is window.c's.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runbook_impl.h"
#include "kit/alloc.h"

#define ZONEINFO_DIR "/usr/share/zoneinfo"

static const char *const day_names[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

static int valid_zone(const char *z)
{
	if (!*z || z[0] == '/' || strstr(z, "..") || strlen(z) > 128)
		return 0;
	for (const char *p = z; *p; p++)
		if (!rb_is_alnum_(*p) && !strchr("/+-", *p))
			return 0;
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", ZONEINFO_DIR, z);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	char magic[4];
	struct stat st;
	int ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && read(fd, magic, 4) == 4 &&
	         !memcmp(magic, "TZif", 4);
	close(fd);
	return ok;
}

static const char *const window_keys[] = {"days", "start", "end", "timezone", "overridable", NULL};

int rb_load_window(struct loader *L, const struct file_rec *f, const struct yt_node *n)
{
	struct runbook *rb = L->rb;
	if (yt_expect(n, YT_MAPPING, L->err) < 0 ||
	    yt_check_keys(n, window_keys, "a window", L->err) < 0)
		return -1;
	rb->windows = rb_grow1(rb->windows, rb->nwindows, sizeof(*rb->windows));
	struct rb_window *w = &rb->windows[rb->nwindows++];
	memset(w, 0, sizeof(*w));
	w->pos = rb_pos_of(L, f, n);
	w->days = 0x7f;
	const struct yt_node *v;
	const char *s;
	if ((v = yt_map_get(n, "days"))) {
		if (yt_expect(v, YT_SEQUENCE, L->err) < 0)
			return -1;
		if (!v->nitems)
			return yt_error(L->err, v, "days must not be empty");
		w->days = 0;
		for (size_t i = 0; i < v->nitems; i++) {
			if (yt_get_string(v->items[i], &s, L->err) < 0)
				return -1;
			int d;
			for (d = 0; d < 7 && strcmp(s, day_names[d]); d++)
				;
			if (d == 7)
				return yt_error(L->err, v->items[i],
				                "expected a day (mon, tue, wed, thu, fri, sat, "
				                "sun), got '%s'",
				                s);
			w->days |= 1u << d;
		}
	}
	static const char *const se[] = {"start", "end"};
	int *mins[] = {&w->start_min, &w->end_min};
	for (int i = 0; i < 2; i++) {
		if (!(v = yt_map_require(n, se[i], "a window", L->err)) ||
		    yt_get_string(v, &s, L->err) < 0)
			return -1;
		if (parse_hhmm(s, mins[i]) < 0)
			return yt_error(L->err, v,
			                "expected a time as HH:MM (00:00 to 23:59), got '%s'", s);
	}
	if ((v = yt_map_get(n, "timezone"))) {
		if (yt_get_string(v, &s, L->err) < 0)
			return -1;
		if (!valid_zone(s))
			return yt_error(L->err, v,
			                "unknown time zone '%s' (expected an IANA name such as "
			                "Europe/Berlin)",
			                s);
		w->timezone = xstrdup(s);
	}
	if ((v = yt_map_get(n, "overridable")) && yt_get_bool(v, &w->overridable, L->err) < 0)
		return -1;
	return 0;
}

static const char *const freeze_keys[] = {"from", "to", "reason", "overridable", NULL};

int rb_load_freeze(struct loader *L, const struct file_rec *f, const struct yt_node *n)
{
	struct runbook *rb = L->rb;
	if (yt_expect(n, YT_MAPPING, L->err) < 0 ||
	    yt_check_keys(n, freeze_keys, "a freeze", L->err) < 0)
		return -1;
	rb->freezes = rb_grow1(rb->freezes, rb->nfreezes, sizeof(*rb->freezes));
	struct rb_freeze *z = &rb->freezes[rb->nfreezes++];
	memset(z, 0, sizeof(*z));
	z->pos = rb_pos_of(L, f, n);
	const struct yt_node *v, *to = NULL;
	const char *s;
	static const char *const ft[] = {"from", "to"};
	int64_t *ms[] = {&z->from_ms, &z->to_ms};
	for (int i = 0; i < 2; i++) {
		if (!(v = yt_map_require(n, ft[i], "a freeze", L->err)) ||
		    yt_get_string(v, &s, L->err) < 0)
			return -1;
		if (parse_rfc3339_ms(s, ms[i]) < 0)
			return yt_error(L->err, v,
			                "expected an RFC 3339 timestamp such as "
			                "2026-12-20T00:00:00Z, got '%s'",
			                s);
		to = v;
	}
	if (z->to_ms <= z->from_ms)
		return yt_error(L->err, to, "freeze 'to' must be after 'from'");
	if ((v = yt_map_get(n, "reason"))) {
		if (yt_get_string(v, &s, L->err) < 0)
			return -1;
		z->reason = xstrdup(s);
	}
	if ((v = yt_map_get(n, "overridable")) && yt_get_bool(v, &z->overridable, L->err) < 0)
		return -1;
	return 0;
}
