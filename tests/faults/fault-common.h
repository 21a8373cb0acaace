/* fault-common.h: what the fault worker and its checker agree on
 *
 * A file's content follows from its name alone, "f-SEED-N.bin", so the checker knows what
 * every listed file must contain whatever moment the worker was killed at.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdio.h>
#include <glib.h>

#define FAULT_MAX_FILE_SIZE 300000

static inline GBytes *
fault_content (guint seed, guint n)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed * 1000003u + n);
  /* Sizes around the chunk size too: empty, one chunk, a few chunks. */
  gsize size = g_rand_int_range (rand, 0, 4) == 0 ? g_rand_int_range (rand, 0, 70000)
                                                  : g_rand_int_range (rand, 0, FAULT_MAX_FILE_SIZE);
  guint8 *buf = g_malloc (MAX (size, 1));

  for (gsize i = 0; i < size; i++)
    buf[i] = g_rand_int (rand) & 0xff;
  return g_bytes_new_take (buf, size);
}

static inline char *
fault_name (guint seed, guint n)
{
  return g_strdup_printf ("f-%u-%u.bin", seed, n);
}

static inline GBytes *
fault_content_for_name (const char *name)
{
  guint seed, n;
  char tail[8] = "";

  if (sscanf (name, "f-%u-%u%7s", &seed, &n, tail) != 3 || g_strcmp0 (tail, ".bin") != 0)
    return NULL;
  return fault_content (seed, n);
}
