/* tsr-priority.h: background threads that yield to an interactive one
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TSR_PRIORITY_BACKGROUND_NICE 10

void tsr_priority_set_background_workers (gboolean enable);
void tsr_priority_enter_worker (void);

G_END_DECLS
