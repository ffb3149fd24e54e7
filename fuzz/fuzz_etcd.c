/* SPDX-License-Identifier: MIT */
/* The etcd lock's answer readers (holds/etcd_v3.c): every gateway answer
 * the lock reads (grant, txn create and delete, range, keepalive,
 * timetolive, authenticate, errors) parsed as etcd_client.c parses it,
 * plus the base64 decoder on the raw bytes.  Besides not crashing: a
 * create is only won with "succeeded": true and a put response, or with
 * the holder read back carrying our own lease; a keepalive renewed has a
 * TTL above 0; a range's pairs are as many as it counts; base64 that
 * decodes encodes back to itself.
 * Seeds: tests/data/recorded/holds/etcd/ (tests/tools/record-hold-etcd.sh). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "holds/etcd_v3.h"

#define LEASE 2324317157589864454LL

static void check_create(const json_t *doc)
{
	struct etcd_kv kv;
	char err[256];
	enum etcd_txn_outcome r = etcd_parse_create(doc, LEASE, &kv, err, sizeof(err));
	if (r == ETCD_TXN_WON && !json_is_true(json_object_get(doc, "succeeded"))) {
		/* won through the failure branch: only with our own lease */
		json_t *resp = json_object_get(doc, "responses");
		json_t *rr = json_object_get(json_array_get(resp, 0), "response_range");
		int64_t lease = 0;
		if (etcd_int64(
			    json_object_get(json_array_get(json_object_get(rr, "kvs"), 0), "lease"),
			    &lease) < 0 ||
		    lease != LEASE)
			abort();
	}
	if (r == ETCD_TXN_LOST) {
		if (!kv.key || !kv.value)
			abort();
		free(etcd_holder_text(&kv));
		(void)etcd_slot_of(kv.key, "/gate/locks/fleet/");
	}
	if (r != ETCD_TXN_LOST && (kv.key || kv.value))
		abort();
	free(kv.key);
	free(kv.value);
}

static void check_others(const json_t *doc)
{
	char err[256], msg[256], *token = NULL;
	int64_t a, b;
	size_t n;
	int code, only;
	struct etcd_kv *kvs = NULL;
	if (etcd_parse_range(doc, &kvs, &n, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < n; i++) {
			if (!kvs[i].key || !kvs[i].value)
				abort();
			free(etcd_holder_text(&kvs[i]));
		}
	} else if (kvs || n) {
		abort();
	}
	etcd_kvs_free(kvs, n);
	if (etcd_parse_keepalive(doc, LEASE, &a, err, sizeof(err)) == 0 && a <= 0)
		abort();
	if (etcd_parse_grant(doc, &a, &b, err, sizeof(err)) == 0 && (a == 0 || b <= 0))
		abort();
	if (etcd_parse_delete(doc, &a, err, sizeof(err)) == 0 && a < 0 &&
	    !json_is_true(json_object_get(doc, "succeeded")))
		abort();
	(void)etcd_parse_timetolive(doc, "/gate/locks/fleet/slot-0", &a, &n, &only, err,
	                            sizeof(err));
	if (etcd_parse_auth(doc, &token, err, sizeof(err)) == 0 && (!token || !*token))
		abort();
	free(token);
	if (etcd_answer_error(doc, &code, msg, sizeof(msg)) && !memchr(msg, '\0', sizeof(msg)))
		abort();
}

static void check_b64(const char *s)
{
	char *out = NULL;
	size_t n;
	if (etcd_unb64(s, &out, &n) < 0) {
		if (out)
			abort();
		return;
	}
	char *back = etcd_b64(out, n);
	/* Padding bits that are not zero decode too; compare what they mean. */
	char *again = NULL;
	size_t m;
	if (etcd_unb64(back, &again, &m) < 0 || m != n || memcmp(again, out, n))
		abort();
	free(again);
	free(back);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strdup(data, size);
	check_b64(s);
	free(s);
	json_t *doc = json_loadb((const char *)data, size, 0, NULL);
	if (!doc)
		return 0;
	check_create(doc);
	check_others(doc);
	json_decref(doc);
	return 0;
}
