/* bench-common.c: what the store benchmarks share
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "bench-common.h"

#include <errno.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <glib/gstdio.h>

#define PROBE_FILES 2000
/* Above this, creating a file costs several times what it does on a quiet ext4 here
 * (15-20 us); see bench_print_create_probe(). */
#define PROBE_SLOW_USEC 40.0

void
bench_fill (guint8 *buf, gsize len, guint64 seed)
{
  guint64 x = seed | 1;

  for (gsize i = 0; i + 8 <= len; i += 8)
    {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      memcpy (buf + i, &x, 8);
    }
}

double
bench_disk_rate (const char *dir, const guint8 *data, gsize total)
{
  g_autofree char *path = g_build_filename (dir, "disk-probe.bin", NULL);
  const gsize step = 64 * 1024;
  gint64 t0 = g_get_monotonic_time ();
  int fd = g_open (path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

  if (fd < 0)
    g_error ("cannot create %s: %s", path, g_strerror (errno));
  for (gsize off = 0; off < total; off += step)
    if (write (fd, data + off, MIN (step, total - off)) != (ssize_t)MIN (step, total - off))
      g_error ("disk probe write failed: %s", g_strerror (errno));
  if (fdatasync (fd) != 0)
    g_error ("fdatasync failed: %s", g_strerror (errno));
  close (fd);
  g_unlink (path);
  return total / ((g_get_monotonic_time () - t0) / 1e6) / 1e6;
}

double
bench_create_probe (const char *dir)
{
  g_autofree char *probe = g_build_filename (dir, "create-probe", NULL);
  gint64 t0;
  double usec;

  if (g_mkdir (probe, 0700) != 0)
    g_error ("cannot create %s: %s", probe, g_strerror (errno));
  t0 = g_get_monotonic_time ();
  for (guint i = 0; i < PROBE_FILES; i++)
    {
      g_autofree char *name = g_strdup_printf ("%s/%u", probe, i);
      int fd;

      fd = g_open (name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd < 0)
        g_error ("cannot create %s: %s", name, g_strerror (errno));
      close (fd);
    }
  usec = (double)(g_get_monotonic_time () - t0) / PROBE_FILES;
  bench_rm_rf (probe);
  return usec;
}

void
bench_print_create_probe (double usec)
{
  printf ("file creation:               %8.1f us per file\n", usec);
  /* ext4 without a journal skips inodes freed in the last one to six minutes when it
   * creates a file, reading each one's table block (recently_deleted() in
   * fs/ext4/ialloc.c). Right after many files were deleted, by this benchmark's last run
   * or a test suite, every segment file costs several times more to create. */
  if (usec > PROBE_SLOW_USEC)
    printf ("  warning: files are slow to create right now (many were deleted in the last "
            "minutes?); store figures are low. Wait six minutes and run again.\n");
}

double
bench_cpu_seconds (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

void
bench_rm_rf (const char *path)
{
  g_autofree char *quoted = g_shell_quote (path);
  g_autofree char *cmd = g_strdup_printf ("rm -rf %s", quoted);

  if (system (cmd) != 0)
    g_printerr ("could not remove %s\n", path);
}
