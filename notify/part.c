/* SPDX-License-Identifier: MIT */
/* part-notify.so (gate/part.h): the webhook transport of notifications,
 * for gate/cli_notify.c. */
#include "gate/part.h"

#include "webhook.h"

GATE_PART_DEFINE(notify, &gate_notify_webhook);
