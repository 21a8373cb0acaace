/* bench-app-stall.c: how long the app's main loop stalls while it uploads 1 GiB, or a folder's
 * worth of small files
 *
 * Opens the real window on a fresh five-node cluster, signs in, drops a 1 GiB file on it (or
 * FILES files of 1 byte to 32 KiB at once) and watches the main loop the whole time: a 5 ms
 * timer records the gap between its runs, and a tick callback the gap between frames. The
 * longest gap beyond the timer's own period is the longest time the window could not respond.
 * Target: under 50 ms.
 *
 * Usage: bench-app-stall [MiB]          (run under Xvfb when there is no display)
 *        bench-app-stall --files FILES
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tsr-app-test-util.h"
#include "tsr-test-util.h"

#define TICK_MS 5

typedef struct
{
  gint64 last_tick, last_frame;
  gint64 max_tick_gap, max_frame_gap;
  gint64 max_tick_gap_end; /* when the longest gap ended, for matching with a profile */
  GArray *gaps;            /* gint64 microseconds */
  gboolean measuring;
} Monitor;

static gboolean
on_tick (gpointer data)
{
  Monitor *m = data;
  gint64 now = g_get_monotonic_time ();

  if (m->measuring && m->last_tick != 0)
    {
      gint64 gap = now - m->last_tick;
      if (gap > m->max_tick_gap)
        {
          m->max_tick_gap = gap;
          m->max_tick_gap_end = now;
        }
      g_array_append_val (m->gaps, gap);
    }
  m->last_tick = now;
  return G_SOURCE_CONTINUE;
}

static gboolean
on_frame (GtkWidget *widget, GdkFrameClock *clock, gpointer data)
{
  Monitor *m = data;
  gint64 now = g_get_monotonic_time ();

  if (m->measuring && m->last_frame != 0)
    m->max_frame_gap = MAX (m->max_frame_gap, now - m->last_frame);
  m->last_frame = now;
  return G_SOURCE_CONTINUE;
}

static TsrWindow *window;

static gboolean
uploaded (gpointer n_files)
{
  return tsr_app_test_n_files (window) == GPOINTER_TO_UINT (n_files) &&
         g_list_model_get_n_items (tsr_backend_get_transfers (tsr_window_get_backend (window))) ==
             0;
}

/* Random bytes in a new file of @len bytes. */
static GFile *
write_random_file (const char *dir, const char *name, guint64 len)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree guint8 *block = g_malloc (1 << 20);
  FILE *f = fopen (path, "wb");

  g_assert_nonnull (f);
  for (guint64 done = 0; done < len; done += 1 << 20)
    {
      gsize n = MIN (len - done, 1 << 20);
      for (gsize k = 0; k + 4 <= n; k += 4)
        *(guint32 *)(block + k) = g_random_int ();
      g_assert_cmpuint (fwrite (block, 1, n, f), ==, n);
    }
  fclose (f);
  return g_file_new_for_path (path);
}

/* The main thread's minor page faults and CPU seconds so far: less noisy than stalls on a
 * shared machine, and a frame that faults in fresh memory is a slow frame. */
static void
main_thread_usage (guint64 *minflt, double *cpu)
{
  g_autofree char *stat = NULL;
  g_auto (GStrv) f = NULL;
  const char *end;

  *minflt = 0;
  *cpu = 0;
  if (!g_file_get_contents ("/proc/thread-self/stat", &stat, NULL, NULL) ||
      (end = strrchr (stat, ')')) == NULL)
    return;
  f = g_strsplit (end + 2, " ", 0);
  if (g_strv_length (f) < 13)
    return;
  /* After "pid (comm) ": state ppid pgrp session tty tpgid flags minflt cminflt majflt
   * cmajflt utime stime */
  *minflt = g_ascii_strtoull (f[7], NULL, 10);
  *cpu = (g_ascii_strtoull (f[11], NULL, 10) + g_ascii_strtoull (f[12], NULL, 10)) /
         (double)sysconf (_SC_CLK_TCK);
}

static int
compare_gaps (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
  return (x > y) - (x < y);
}

int
main (int argc, char **argv)
{
  gboolean many = argc > 2 && g_str_equal (argv[1], "--files");
  guint64 mib = !many && argc > 1 ? g_ascii_strtoull (argv[1], NULL, 10) : 1024;
  guint n_files = many ? (guint)g_ascii_strtoull (argv[2], NULL, 10) : 1;
  g_autoptr (GError) error = NULL;
  g_autofree char *data_dir = NULL;
  g_autofree char *work_dir = NULL;
  g_autofree GFile **files = g_new0 (GFile *, n_files);
  guint64 bytes = 0;
  Monitor m = { 0 };
  gint64 start, elapsed;
  guint64 flt0, flt1;
  double cpu0, cpu1;

  tsr_app_test_init (&argc, &argv);
  data_dir = g_dir_make_tmp ("tessera-bench-app-XXXXXX", &error);
  work_dir = g_dir_make_tmp ("tessera-bench-app-files-XXXXXX", &error);
  g_assert_no_error (error);
  tsr_cluster_init_data_dir (data_dir, 5, 10ull << 30, 64 * 1024, 2, &error);
  g_assert_no_error (error);
  tsr_app_test_make_account (data_dir, "bench", "bench password");

  /* The files, written before the clock starts. */
  for (guint i = 0; i < n_files; i++)
    {
      g_autofree char *name = many ? g_strdup_printf ("note-%05u.txt", i) : g_strdup ("big.bin");
      guint64 len = many ? (guint64)g_random_int_range (1, 32 * 1024 + 1) : mib << 20;

      files[i] = write_random_file (work_dir, name, len);
      bytes += len;
    }

  window = tsr_app_test_open_window (data_dir);
  tsr_app_test_sign_in (window, "bench", "bench password", NULL);
  g_assert_true (tsr_app_test_wait (tsr_app_test_signed_in, window, 30));
  m.gaps = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_timeout_add (TICK_MS, on_tick, &m);
  gtk_widget_add_tick_callback (GTK_WIDGET (window), on_frame, &m, NULL);
  tsr_app_test_spin (0.5);

  /* Watch the files page with its progress row, then the topology with moving packets. */
  m.measuring = TRUE;
  start = g_get_monotonic_time ();
  main_thread_usage (&flt0, &cpu0);
  tsr_app_test_drop_files (window, files, n_files);
  tsr_app_test_spin (2);
  tsr_window_set_visible_page (window, "topology");
  g_assert_true (tsr_app_test_wait (uploaded, GUINT_TO_POINTER (n_files), 3600));
  elapsed = g_get_monotonic_time () - start;
  main_thread_usage (&flt1, &cpu1);
  m.measuring = FALSE;

  g_array_sort (m.gaps, compare_gaps);
  g_print ("upload of %u file%s, %" G_GUINT64_FORMAT " bytes, through the app: %.2f s, %.0f MB/s, "
           "%.0f files/s\n",
           n_files, n_files == 1 ? "" : "s", bytes, elapsed / 1e6, bytes / (elapsed / 1e6) / 1e6,
           n_files / (elapsed / 1e6));
  g_print ("main loop: %u timer runs; longest stall %.1f ms (beyond the %d ms period), "
           "99th percentile gap %.1f ms\n",
           m.gaps->len, (m.max_tick_gap - TICK_MS * 1000) / 1000.0, TICK_MS,
           m.gaps->len > 0 ? g_array_index (m.gaps, gint64, m.gaps->len * 99 / 100) / 1000.0 : 0.0);
  g_print ("longest stall ended %.2f s into the upload (monotonic time %.6f s)\n",
           (m.max_tick_gap_end - start) / 1e6, m.max_tick_gap_end / 1e6);
  g_print ("main thread: %.2f s of CPU (%.0f %% of the upload), %" G_GUINT64_FORMAT
           " minor page faults\n",
           cpu1 - cpu0, 100 * (cpu1 - cpu0) / (elapsed / 1e6), flt1 - flt0);
  g_print ("frames: longest gap between frames %.1f ms\n", m.max_frame_gap / 1000.0);
  g_print ("target: longest stall < 50 ms: %s\n",
           m.max_tick_gap - TICK_MS * 1000 < 50000 ? "met" : "NOT met");

  tsr_app_test_close_window (window);
  for (guint i = 0; i < n_files; i++)
    g_object_unref (files[i]);
  tsr_test_rmdir (data_dir);
  tsr_test_rmdir (work_dir);
  g_array_unref (m.gaps);
  return 0;
}
