/* tsr-priority.c: background threads that yield to an interactive one
 *
 * The desktop app runs its nodes and transfers in the same process as its window. On a busy
 * machine every runnable thread competes for the cores equally, so a 1 GiB upload's hashing,
 * encryption and TLS could keep the main loop waiting for a core for a tenth of a second at
 * a time. Linux scheduling priority is per thread: workers that lower their own (nice 10)
 * still take every idle cycle, but give way at once when the window needs to draw.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tsr-priority.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static gint background_workers; /* atomic */

/**
 * tsr_priority_set_background_workers:
 *
 * From now on, engine worker threads lower their scheduling priority when they next run.
 * For processes with a user interface; servers and tools leave it off.
 */
void
tsr_priority_set_background_workers (gboolean enable)
{
  g_atomic_int_set (&background_workers, enable);
}

/**
 * tsr_priority_enter_worker:
 *
 * Called by a worker thread before it works; lowers its priority once when asked to.
 */
void
tsr_priority_enter_worker (void)
{
  static __thread gboolean lowered;

  if (lowered || !g_atomic_int_get (&background_workers))
    return;
  lowered = TRUE;
  /* Failure only means the thread keeps its priority. */
  (void)setpriority (PRIO_PROCESS, (id_t)syscall (SYS_gettid), TSR_PRIORITY_BACKGROUND_NICE);
}
