/* tsr-cli-files.c: init, upload, download, list, delete
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include <string.h>
#include <unistd.h>

#include "tsr-cli.h"

static gboolean
parse_uint_option (const char *command, const char *name, const char *value, guint64 min,
                   guint64 max, gboolean size, guint64 *out)
{
  guint64 v = 0;
  gboolean ok = size ? tsr_parse_size (value, &v)
                     : g_ascii_string_to_unsigned (value, 10, min, max, &v, NULL);

  if (!ok || v < min || v > max)
    {
      /* Say what would do: sizes in bytes with their units, counts as numbers. */
      g_autofree char *lo = size ? g_format_size_full (min, G_FORMAT_SIZE_IEC_UNITS)
                                 : g_strdup_printf ("%llu", (unsigned long long)min);
      g_autofree char *hi = size ? g_format_size_full (max, G_FORMAT_SIZE_IEC_UNITS)
                                 : g_strdup_printf ("%llu", (unsigned long long)max);

      if (max == G_MAXINT64)
        tsr_cli_usage_error (command, _ ("invalid value “%s” for %s: give %s or more"),
                             value ? value : "", name, lo);
      else
        tsr_cli_usage_error (command, _ ("invalid value “%s” for %s: give %s to %s"),
                             value ? value : "", name, lo, hi);
      return FALSE;
    }
  *out = v;
  return TRUE;
}

int
tsr_cli_cmd_init (TsrCli *cli, int argc, char **argv)
{
  guint64 nodes = TSR_CLUSTER_DEFAULT_NODES, capacity = TSR_SEGMENT_STORE_DEFAULT_CAPACITY;
  guint64 chunk = TSR_CHUNK_SIZE_DEFAULT, replicas = TSR_CLUSTER_DEFAULT_REPLICAS;
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrLockFile) lock = NULL;
  g_autofree char *lock_path = NULL;
  g_autofree char *what = NULL;

  for (int i = 1; i < argc; i++)
    {
      const char *v = i + 1 < argc ? argv[i + 1] : NULL;
      gboolean ok;

      if (strcmp (argv[i], "--nodes") == 0)
        ok = parse_uint_option ("init", "--nodes", v, 0, TSR_CLUSTER_MAX_NODES, FALSE, &nodes);
      else if (strcmp (argv[i], "--capacity") == 0)
        ok = parse_uint_option ("init", "--capacity", v, 1, G_MAXINT64, TRUE, &capacity);
      else if (strcmp (argv[i], "--chunk-size") == 0)
        ok = parse_uint_option ("init", "--chunk-size", v, TSR_CHUNK_SIZE_MIN, TSR_CHUNK_SIZE_MAX,
                                TRUE, &chunk);
      else if (strcmp (argv[i], "--replicas") == 0)
        ok =
            parse_uint_option ("init", "--replicas", v, 1, TSR_CLUSTER_MAX_NODES, FALSE, &replicas);
      else
        return tsr_cli_usage_error ("init", _ ("unknown argument “%s”"), argv[i]);
      if (!ok)
        return TSR_EXIT_USAGE;
      i++;
    }
  if (nodes > 0 && replicas > nodes)
    return tsr_cli_usage_error ("init", _ ("--replicas (%llu) cannot exceed --nodes (%llu)"),
                                (unsigned long long)replicas, (unsigned long long)nodes);

  if (g_mkdir_with_parents (cli->data_dir, 0700) == 0)
    {
      lock_path = g_build_filename (cli->data_dir, "lock", NULL);
      what = g_strdup_printf (_ ("data dir %s"), cli->data_dir);
      lock = tsr_lock_file_acquire (lock_path, what, &error);
      if (lock == NULL)
        return tsr_cli_fail (cli, error);
    }
  if (!tsr_cluster_init_data_dir (cli->data_dir, nodes, capacity, chunk, replicas, &error))
    return tsr_cli_fail (cli, error);
  if (cli->json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "data_dir");
      json_builder_add_string_value (b, cli->data_dir);
      json_builder_set_member_name (b, "nodes");
      json_builder_add_int_value (b, nodes);
      json_builder_end_object (b);
      tsr_cli_print_builder (b);
    }
  else
    printf (ngettext ("Created a cluster of %llu node in %s\n",
                      "Created a cluster of %llu nodes in %s\n", nodes),
            (unsigned long long)nodes, cli->data_dir);
  return TSR_EXIT_OK;
}

/* Prints {"k1": "v1", "k2": "v2"}; the value "true" is written as a boolean. */
static void
print_pair_object (const char *k1, const char *v1, const char *k2, const char *v2)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, k1);
  json_builder_add_string_value (b, v1);
  json_builder_set_member_name (b, k2);
  if (g_strcmp0 (v2, "true") == 0)
    json_builder_add_boolean_value (b, TRUE);
  else
    json_builder_add_string_value (b, v2);
  json_builder_end_object (b);
  tsr_cli_print_builder (b);
}

/* ---- progress on a terminal ---- */

/* One file of an upload command. */
typedef struct
{
  const char *arg;
  GFile *file;
  guint64 size;
  GCancellable *cancellable; /* its own, cancelled with the command's */
  gulong cancel_handler;
  GAsyncResult *result;
  guint64 done; /* bytes, as its last progress said */
} UploadJob;

typedef struct
{
  gboolean shown;
  /* An upload of several files: one bar for all of them. */
  UploadJob *jobs;
  guint n_jobs;
  guint finished;
  guint64 total;
  gint64 started;
} Progress;

/* @text cut or padded to @columns columns of a terminal: whole characters, wide ones (CJK)
 * counted twice, so a name neither breaks a UTF-8 sequence nor shifts the bar. */
static char *
fit_columns (const char *text, int columns)
{
  GString *out = g_string_new (NULL);
  int used = 0;

  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      int w = g_unichar_iszerowidth (c) ? 0 : g_unichar_iswide (c) ? 2 : 1;

      if (used + w > columns)
        break;
      g_string_append_len (out, p, g_utf8_next_char (p) - p);
      used += w;
    }
  for (; used < columns; used++)
    g_string_append_c (out, ' ');
  return g_string_free (out, FALSE);
}

static void
show_progress (Progress *p, const char *label, guint64 done, guint64 total, double rate)
{
  g_autofree char *rate_str = g_format_size ((guint64)rate);
  g_autofree char *shown = tsr_cli_escape (label); /* a file's name */
  g_autofree char *fitted = fit_columns (shown, 24);
  int width = 30, filled;
  char bar[64];

  done = MIN (done, total); /* a file that grew since its size was taken */
  filled = total > 0 ? (int)(width * (double)done / total) : width;

  memset (bar, '#', filled);
  memset (bar + filled, '-', width - filled);
  bar[width] = '\0';
  fprintf (stderr, "\r%s [%s] %3d%%  %s/s ", fitted, bar,
           total > 0 ? (int)(100.0 * done / total) : 100, rate_str);
  fflush (stderr);
  p->shown = TRUE;
}

static void
on_progress (TsrCluster *cluster, GCancellable *cancellable, const char *name, guint64 done,
             guint64 total, double rate, gpointer data)
{
  Progress *p = data;
  g_autofree char *label = NULL;
  guint64 all = 0;

  if (p->n_jobs <= 1)
    {
      show_progress (p, name, done, total, rate);
      return;
    }
  if (cancellable == NULL)
    return; /* not one of these uploads (a repair's, say) */
  for (guint i = 0; i < p->n_jobs; i++)
    {
      UploadJob *job = &p->jobs[i];

      if (job->cancellable == cancellable)
        {
          job->done = done;
          if (total > job->size) /* it grew since its size was taken */
            {
              p->total += total - job->size;
              job->size = total;
            }
        }
      all += job->done;
    }
  /* TRANSLATORS: progress of an upload of several files: those finished, of how many */
  label = g_strdup_printf (_ ("%u of %u files"), p->finished, p->n_jobs);
  show_progress (p, label, all, p->total,
                 all / MAX (1e-3, (g_get_monotonic_time () - p->started) / 1e6));
}

static void
on_async_done (GObject *source, GAsyncResult *result, gpointer data)
{
  *(GAsyncResult **)data = g_object_ref (result);
}

/* Runs the main loop until the async call completes, showing progress on a terminal. */
static GAsyncResult *
wait_with_progress (TsrCli *cli, GAsyncResult **slot, Progress *p)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  if (p->shown)
    fprintf (stderr, "\r%*s\r", 80, "");
  p->shown = FALSE;
  return *slot;
}

static gulong
connect_progress (TsrCli *cli, TsrCluster *cluster, Progress *p)
{
  if (cli->json || !isatty (STDERR_FILENO))
    return 0;
  return g_signal_connect (cluster, "transfer-progress", G_CALLBACK (on_progress), p);
}

static void
add_file_json (JsonBuilder *b, TsrCluster *cluster, const TsrManifest *m)
{
  g_autofree char *created = tsr_cli_format_time (m->created_at);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "file_id");
  json_builder_add_string_value (b, m->file_id);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, m->name);
  json_builder_set_member_name (b, "size");
  json_builder_add_int_value (b, (gint64)m->size);
  json_builder_set_member_name (b, "chunks");
  json_builder_add_int_value (b, (gint64)m->chunk_count);
  json_builder_set_member_name (b, "created_at");
  json_builder_add_string_value (b, created);
  tsr_cli_add_health_json (b, cluster, m);
  json_builder_end_object (b);
}

static void
cancel_job (GCancellable *command, gpointer job_cancellable)
{
  g_cancellable_cancel (job_cancellable);
}

static void
upload_job_clear (TsrCli *cli, UploadJob *job)
{
  if (job->cancel_handler != 0)
    g_cancellable_disconnect (cli->cancellable, job->cancel_handler);
  g_clear_object (&job->cancellable);
  g_clear_object (&job->file);
  g_clear_object (&job->result);
}

static void
upload_job_init (UploadJob *job, const char *arg)
{
  g_autoptr (GFileInfo) info = NULL;

  job->arg = arg;
  job->file = g_file_new_for_commandline_arg (arg);
  /* A file that cannot be looked at fails in the upload itself, with the reason. */
  info = g_file_query_info (job->file, G_FILE_ATTRIBUTE_STANDARD_SIZE, G_FILE_QUERY_INFO_NONE, NULL,
                            NULL);
  job->size = info != NULL ? (guint64)g_file_info_get_size (info) : 0;
}

static void
start_upload (TsrCli *cli, TsrCluster *cluster, UploadJob *job)
{
  job->cancellable = g_cancellable_new ();
  job->cancel_handler =
      g_cancellable_connect (cli->cancellable, G_CALLBACK (cancel_job), job->cancellable, NULL);
  tsr_cluster_upload_async (cluster, job->file, job->cancellable, on_async_done, &job->result);
}

int
tsr_cli_cmd_upload (TsrCli *cli, int argc, char **argv)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (GPtrArray) paths = g_ptr_array_new ();
  g_autofree UploadJob *jobs = NULL;
  TsrCluster *cluster;
  int ret = TSR_EXIT_OK;
  Progress p = { 0 };
  guint n, cancelled = 0;
  gboolean options_ended = FALSE;
  gulong handler;

  /* upload takes no options yet: a mistyped one is a usage error, not a file that is missing.
   * After --, everything is a path (a file named -notes.txt). */
  for (int i = 1; i < argc; i++)
    {
      if (!options_ended && strcmp (argv[i], "--") == 0)
        options_ended = TRUE;
      else if (!options_ended && tsr_cli_is_option (argv[i]))
        return tsr_cli_usage_error ("upload",
                                    _ ("unknown option “%s” (to upload a file whose name starts "
                                       "with “-”, put -- before it)"),
                                    argv[i]);
      else
        g_ptr_array_add (paths, argv[i]);
    }
  if (paths->len == 0)
    return tsr_cli_usage_error ("upload", _ ("name at least one file to upload"));
  cluster = tsr_cli_cluster (cli, TRUE);
  if (cluster == NULL)
    return TSR_EXIT_FAILED;
  if ((ret = tsr_cli_use_session (cli, cluster)) != TSR_EXIT_OK)
    return ret;

  n = paths->len;
  jobs = g_new0 (UploadJob, n);
  for (guint i = 0; i < n; i++)
    {
      upload_job_init (&jobs[i], paths->pdata[i]);
      p.total += jobs[i].size;
    }
  p.jobs = jobs;
  p.n_jobs = n;
  p.started = g_get_monotonic_time ();
  handler = connect_progress (cli, cluster, &p);

  /* All of them asked for at once: the cluster runs several small ones together and a big one
   * alone (see tsr_cluster_upload_async()). Reported in the order given. */
  for (guint i = 0; i < n; i++)
    start_upload (cli, cluster, &jobs[i]);
  json_builder_begin_array (b);
  for (guint i = 0; i < n; i++)
    {
      UploadJob *job = &jobs[i];
      g_autoptr (GError) error = NULL;
      g_autoptr (TsrManifest) m = NULL;

      m = tsr_cluster_upload_finish (cluster, wait_with_progress (cli, &job->result, &p), &error);
      p.finished++;
      job->done = job->size; /* its last progress may have been before its end */
      /* After Ctrl+C the files still waiting end cancelled too: said once, then counted. */
      if (m == NULL && cancelled > 0 && g_error_matches (error, TSR_ERROR, TSR_ERROR_CANCELLED))
        cancelled++;
      else if (m == NULL)
        {
          cancelled += g_error_matches (error, TSR_ERROR, TSR_ERROR_CANCELLED);
          ret = tsr_cli_fail (cli, error);
        }
      else if (cli->json)
        add_file_json (b, cluster, m);
      else
        {
          g_autofree char *shown = tsr_cli_escape (job->arg);
          g_autofree char *base = g_filename_display_basename (job->arg);

          /* The file id is the content's hash: the same content under another name is the
           * file stored already, and keeps its first name. */
          if (g_strcmp0 (base, m->name) != 0)
            {
              g_autofree char *stored = tsr_cli_escape (m->name);
              printf (_ ("%s  %s  (the same content as “%s”, stored already under that name)\n"),
                      m->file_id, shown, stored);
            }
          else
            printf ("%s  %s\n", m->file_id, shown);
        }
      upload_job_clear (cli, job);
    }
  if (cancelled > 1)
    {
      g_autoptr (GError) error =
          g_error_new (TSR_ERROR, TSR_ERROR_CANCELLED,
                       ngettext ("%u more file was not uploaded: cancelled",
                                 "%u more files were not uploaded: cancelled", cancelled - 1),
                       cancelled - 1);
      tsr_cli_fail (cli, error);
    }
  json_builder_end_array (b);
  if (handler != 0)
    g_signal_handler_disconnect (cluster, handler);
  if (cli->json)
    {
      tsr_cli_print_builder (b);
    }
  return ret;
}

int
tsr_cli_cmd_download (TsrCli *cli, int argc, char **argv)
{
  const char *file_id = NULL, *output = NULL;
  gboolean force = FALSE, options_ended = FALSE;
  g_autoptr (TsrManifest) m = NULL;
  g_autoptr (GFile) dest = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GError) error = NULL;
  TsrCluster *cluster;
  Progress p = { 0 };
  gulong handler;
  int ret;

  for (int i = 1; i < argc; i++)
    {
      if (!options_ended && strcmp (argv[i], "--") == 0)
        options_ended = TRUE;
      else if (!options_ended && strcmp (argv[i], "--force") == 0)
        force = TRUE;
      else if (!options_ended && (strcmp (argv[i], "--output") == 0 || strcmp (argv[i], "-o") == 0))
        {
          if (++i >= argc)
            return tsr_cli_usage_error ("download", _ ("--output needs a path"));
          output = argv[i];
        }
      else if (!options_ended && tsr_cli_is_option (argv[i]))
        return tsr_cli_unknown_option ("download", argv[i]);
      else if (file_id == NULL)
        file_id = argv[i];
      else
        return tsr_cli_usage_error ("download", _ ("unexpected argument “%s”"), argv[i]);
    }
  if (file_id == NULL)
    return tsr_cli_usage_error ("download", _ ("name the FILE_ID to download (see `list`)"));

  cluster = tsr_cli_cluster (cli, TRUE);
  if (cluster == NULL)
    return TSR_EXIT_FAILED;
  if ((ret = tsr_cli_use_session (cli, cluster)) != TSR_EXIT_OK)
    return ret;
  m = tsr_cluster_get_file (cluster, file_id, &error);
  if (m == NULL)
    return tsr_cli_fail (cli, error);
  dest = g_file_new_for_commandline_arg (output ? output : m->name);
  if (output != NULL &&
      g_file_query_file_type (dest, G_FILE_QUERY_INFO_NONE, NULL) == G_FILE_TYPE_DIRECTORY)
    {
      g_autoptr (GFile) inside = g_file_get_child (dest, m->name);
      g_set_object (&dest, inside);
    }
  else if (output != NULL && g_str_has_suffix (output, G_DIR_SEPARATOR_S))
    {
      /* "--output new/" meant a folder: not a file named "new". */
      g_set_error (&error, TSR_ERROR, TSR_ERROR_NOT_FOUND, _ ("There is no folder %s"), output);
      return tsr_cli_fail (cli, error);
    }
  /* Only its name was needed; the download loads its own copy, and a large file's manifest is
   * a few MB (about 270 bytes a chunk) that need not be held twice while it runs. */
  g_clear_pointer (&m, tsr_manifest_free);

  handler = connect_progress (cli, cluster, &p);
  tsr_cluster_download_async (cluster, file_id, dest, force, cli->cancellable, on_async_done,
                              &result);
  wait_with_progress (cli, &result, &p);
  if (handler != 0)
    g_signal_handler_disconnect (cluster, handler);
  if (!tsr_cluster_download_finish (cluster, result, &error))
    {
      if (g_error_matches (error, TSR_ERROR, TSR_ERROR_EXISTS) && !cli->json)
        g_prefix_error (&error, _ ("not overwriting (use --force): "));
      return tsr_cli_fail (cli, error);
    }
  {
    g_autofree char *path = g_file_get_path (dest);
    if (cli->json)
      print_pair_object ("file_id", file_id, "path", path);
    else
      {
        g_autofree char *shown = tsr_cli_escape (path); /* named by the file's stored name */
        printf ("%s\n", shown);
      }
  }
  return TSR_EXIT_OK;
}

int
tsr_cli_cmd_list (TsrCli *cli, int argc, char **argv)
{
  g_autoptr (GPtrArray) files = NULL;
  g_autoptr (GError) error = NULL;
  TsrCluster *cluster;
  int ret;

  if (argc > 1)
    return tsr_cli_usage_error ("list", _ ("takes no arguments"));
  /* Started: health comes from the nodes' states. */
  cluster = tsr_cli_cluster (cli, TRUE);
  if (cluster == NULL)
    return TSR_EXIT_FAILED;
  if ((ret = tsr_cli_use_session (cli, cluster)) != TSR_EXIT_OK)
    return ret;
  files = tsr_cluster_list_file_summaries (cluster, &error);
  if (files == NULL)
    return tsr_cli_fail (cli, error);

  if (cli->json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();

      json_builder_begin_array (b);
      for (guint i = 0; i < files->len; i++)
        add_file_json (b, cluster, files->pdata[i]);
      json_builder_end_array (b);
      tsr_cli_print_builder (b);
      return TSR_EXIT_OK;
    }
  if (files->len == 0)
    {
      printf (_ ("No files yet. Upload one with: tessera-cli upload PATH\n"));
      return TSR_EXIT_OK;
    }
  printf ("%-16s  %10s  %7s  %-20s  %s\n", _ ("FILE ID"), _ ("SIZE"), _ ("CHUNKS"), _ ("UPLOADED"),
          _ ("NAME"));
  for (guint i = 0; i < files->len; i++)
    {
      TsrManifest *m = files->pdata[i];
      g_autofree char *size = g_format_size (m->size);
      g_autofree char *created = tsr_cli_format_time (m->created_at);
      g_autofree char *health = tsr_cli_describe_health (cluster, m);
      g_autofree char *name = tsr_cli_escape (m->name);
      printf ("%-16s  %10s  %7" G_GUINT64_FORMAT "  %-20s  %s\n", m->file_id, size, m->chunk_count,
              created, name);
      printf ("%-16s  %s\n", "", health);
    }
  return TSR_EXIT_OK;
}

int
tsr_cli_cmd_delete (TsrCli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  TsrCluster *cluster;
  int ret;

  if (argc == 2 && tsr_cli_is_option (argv[1]))
    return tsr_cli_unknown_option ("delete", argv[1]);
  if (argc != 2)
    return tsr_cli_usage_error ("delete", _ ("name exactly one FILE_ID"));
  cluster = tsr_cli_cluster (cli, TRUE);
  if (cluster == NULL)
    return TSR_EXIT_FAILED;
  if ((ret = tsr_cli_use_session (cli, cluster)) != TSR_EXIT_OK)
    return ret;
  if (!tsr_cluster_delete (cluster, argv[1], cli->cancellable, &error))
    return tsr_cli_fail (cli, error);
  if (cli->json)
    print_pair_object ("file_id", argv[1], "deleted", "true");
  else
    printf (_ ("Deleted %s\n"), argv[1]);
  return TSR_EXIT_OK;
}
