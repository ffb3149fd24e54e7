/* SPDX-License-Identifier: MIT */
/* The webhook transport of notifications (gate/notify.h): HTTP POSTs over
 * libcurl, all of an event's at once on one curl multi handle.  The
 * program hands it to the core (gate/cli_notify.c); the core names no
 * transport. */
#ifndef GATE_NOTIFY_WEBHOOK_H
#define GATE_NOTIFY_WEBHOOK_H

#include "gate/notify.h"

extern const struct notify_transport gate_notify_webhook;

#endif
