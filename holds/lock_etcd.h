/* SPDX-License-Identifier: MIT */
/* Private to the etcd lock (holds/lock_etcd.c, holds/lock_etcd_force.c):
 * what its parameters say, read once, with the defaults the loader would
 * have filled in (doc/runbook.md, lock kind etcd). */
#ifndef GATE_HOLDS_LOCK_ETCD_H
#define GATE_HOLDS_LOCK_ETCD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "etcd_client.h"
#include "etcd_v3.h"
#include "gate/hold.h"

#define ETCD_DEFAULT_PREFIX "/gate/locks/"
#define ETCD_DEFAULT_TTL_MS 30000
/* How long release may take: it has no deadline of its own, and a lease
 * that is not revoked still expires. */
#define ETCD_RELEASE_MS 10000
/* What undoing a take that failed may add to the take's deadline. */
#define ETCD_CLEANUP_MS 2000

struct etcd_lock_cfg {
	char *group_prefix; /* PREFIX GROUP "/": the slots are its "slot-I" */
	const char *group;
	long slots;
	int64_t ttl_s; /* what the lease is asked for: ttl rounded up */
};

void etcd_cfg_read(const json_t *params, struct etcd_lock_cfg *cfg);
void etcd_cfg_release(struct etcd_lock_cfg *cfg);
/* PREFIX GROUP "/slot-I"; caller frees. */
char *etcd_slot_key(const struct etcd_lock_cfg *cfg, long i);

/* Revoke a lease; 0 done, 1 etcd no longer knew it, -1 with err. */
int etcd_revoke(struct etcd_client *c, int64_t lease, int64_t deadline_ms, char *err,
                size_t errlen);

/* The group's slot keys 0..slots-1 that exist, in slot order: *held[i] is
 * the pair of slot i or has a NULL key.  0, or -1 with err. */
int etcd_read_slots(struct etcd_client *c, const struct etcd_lock_cfg *cfg, int64_t deadline_ms,
                    struct etcd_kv **held, char *err, size_t errlen);

/* `gate lock release`: lock_etcd_force.c. */
int etcd_force_release(const json_t *params, int64_t deadline_ms, struct hold_result *res);

#endif
