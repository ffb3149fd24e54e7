/* SPDX-License-Identifier: MIT */
/* Where gate keeps its state (gate(1), FILES): the maintenance state
 * files and the restore rehearsals' records.  One resolution for the
 * core and the checks (backup.rehearsed reads what gate rehearse wrote). */
#ifndef GATE_KIT_STATEDIR_H
#define GATE_KIT_STATEDIR_H

/* $GATE_STATE_DIR when set; else /var/lib/gate for root or when
 * per_user is 0; else $XDG_STATE_HOME/gate, else $HOME/.local/state/gate.
 * free() it. */
char *gate_state_dir(int per_user);

/* The records of restore rehearsals: $GATE_STATE_DIR/rehearsals, else
 * /var/lib/gate/rehearsals (whoever runs gate: the nightly rehearsal and
 * the pre-maintenance check must agree).  free() it. */
char *gate_rehearsal_dir(void);

/* mkdir -p dir, each directory it makes 0700 (one that exists is left as
 * it is: the caller checks the result's owner and mode). */
void gate_state_mkdirs(const char *dir);

#endif
