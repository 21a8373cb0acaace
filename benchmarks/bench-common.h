/* bench-common.h: what the store benchmarks share
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Fills @buf with xorshift bytes: incompressible, and the same for the same @seed. */
void bench_fill (guint8 *buf, gsize len, guint64 seed);

/* The disk's sequential durable write rate in MB/s: @total bytes of @data written to one
 * file in @dir in 64 KiB writes, then fdatasync. */
double bench_disk_rate (const char *dir, const guint8 *data, gsize total);

/* Microseconds to create one empty file in a new directory under @dir (2,000 of them). */
double bench_create_probe (const char *dir);

/* Prints the probe's result, with a warning when files are slow to create right now. */
void bench_print_create_probe (double usec);

/* User and system CPU time of the whole process so far, in seconds. */
double bench_cpu_seconds (void);

/* rm -rf @path */
void bench_rm_rf (const char *path);

G_END_DECLS
