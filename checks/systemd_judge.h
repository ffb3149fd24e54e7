/* SPDX-License-Identifier: MIT */
/* Private to the systemd check family (checks/systemd*.c): the judges,
 * pure (no I/O, no clock).  checks/systemd.c fetches the facts from the
 * service manager over D-Bus into JSON values named after the manager's
 * own properties; these decide.  Also called by the unit tests (with
 * answers recorded from a real user manager, tests/data/recorded/systemd/)
 * and the fuzz target (fuzz/fuzz_systemd.c). */
#ifndef GATE_CHECKS_SYSTEMD_JUDGE_H
#define GATE_CHECKS_SYSTEMD_JUDGE_H

#include <jansson.h>

#include "gate/module.h"

/* systemd.unit.  facts: the unit's properties
 *   {"LoadState": "loaded", "ActiveState": "active", "SubState": "running",
 *    "UnitFileState": "static",          (optional: "" or absent is none)
 *    "ActiveEnterTimestamp": 1795574574123456}  (optional: µs since the
 *                                        epoch, 0 or absent when never)
 * unit is the unit's name, want the ActiveState asked for.  Puts the
 * properties into res->details and decides: a unit that does not exist
 * (LoadState not-found) never passes. */
void sd_unit_judge(const json_t *facts, const char *unit, const char *want,
                   struct gate_result *res);

/* systemd.failed.  units: what the manager listed (ListUnitsFiltered
 * ["failed"], or every unit from ListUnits), an array of
 *   {"unit", "description", "LoadState", "ActiveState", "SubState"};
 * only those whose ActiveState is failed count.  ignore: the `ignore`
 * globs (an array of strings, or NULL). */
void sd_failed_judge(const json_t *units, const json_t *ignore, struct gate_result *res);

#endif
