/* tsr-cli-health.c: repair, rebalance, scrub, gc, node remove, and the health column of list
 *
 * These work on every user's files without a session: they move and verify ciphertext by its
 * hash and never need a key.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tsr-cli.h"

#define SET_INT(b, k, v)                                                                           \
  G_STMT_START                                                                                     \
  {                                                                                                \
    json_builder_set_member_name (b, k);                                                           \
    json_builder_add_int_value (b, (gint64)(v));                                                   \
  }                                                                                                \
  G_STMT_END

/* The health members of a file in `list --json` and `upload --json`. */
void
tsr_cli_add_health_json (JsonBuilder *b, TsrCluster *cluster, const TsrManifest *m)
{
  TsrFileHealthInfo h;

  tsr_cluster_get_file_health (cluster, m, &h);
  json_builder_set_member_name (b, "health");
  json_builder_add_string_value (b, tsr_file_health_state_to_string (h.state));
  SET_INT (b, "copies", h.min_copies);
  SET_INT (b, "survives_node_losses", h.survives);
}

/* "healthy, survives the loss of any 1 node" and the like, for the list's text form. */
char *
tsr_cli_describe_health (TsrCluster *cluster, const TsrManifest *m)
{
  TsrFileHealthInfo h;

  tsr_cluster_get_file_health (cluster, m, &h);
  if (h.state == TSR_FILE_LOST)
    return g_strdup_printf (ngettext ("lost (%llu chunk has no copy on a node that is up)",
                                      "lost (%llu chunks have no copy on a node that is up)",
                                      h.lost_chunks),
                            (unsigned long long)h.lost_chunks);
  /* The health word stays as --json has it ("healthy", "degraded"): scripts read it. */
  return g_strdup_printf (ngettext ("%s, survives the loss of any %u node",
                                    "%s, survives the loss of any %u nodes", h.survives),
                          tsr_file_health_state_to_string (h.state), h.survives);
}

/* The job runs on a thread of its own with the blocking API, so that its progress comes
 * through a plain callback, while this thread runs the main loop (so Ctrl+C cancels). */
typedef enum
{
  JOB_REPAIR,
  JOB_REBALANCE,
  JOB_SCRUB,
  JOB_GC,
} JobKind;

typedef struct
{
  TsrCli *cli;
  TsrCluster *cluster;
  JobKind kind;
  guint grace;
  gboolean tty;
  gint done; /* atomic */
  gboolean ok;
  GError *error;
  TsrRepairReport repair;
  TsrRebalanceReport rebalance;
  TsrScrubReport scrub;
  TsrGcReport gc;
} Job;

static void
on_progress (const char *what, guint64 done, guint64 total, gpointer data)
{
  Job *job = data;

  if (job->tty && total > 0)
    {
      fputc ('\r', stderr);
      fprintf (stderr, _ ("%s: %llu of %llu"), what, (unsigned long long)done,
               (unsigned long long)total);
    }
}

static gpointer
job_thread (gpointer data)
{
  Job *job = data;

  switch (job->kind)
    {
      case JOB_REPAIR:
        job->ok = tsr_cluster_repair (job->cluster, on_progress, job, job->cli->cancellable,
                                      &job->repair, &job->error);
        break;
      case JOB_REBALANCE:
        job->ok = tsr_cluster_rebalance (job->cluster, on_progress, job, job->cli->cancellable,
                                         &job->rebalance, &job->error);
        break;
      case JOB_SCRUB:
        job->ok = tsr_cluster_scrub (job->cluster, on_progress, job, job->cli->cancellable,
                                     &job->scrub, &job->error);
        break;
      case JOB_GC:
        job->ok =
            tsr_cluster_gc (job->cluster, job->grace, job->cli->cancellable, &job->gc, &job->error);
        break;
    }
  g_atomic_int_set (&job->done, 1);
  g_main_context_wakeup (NULL);
  return NULL;
}

/* Starts the cluster and runs @job on a thread while the main loop shows its progress.
 * Returns TSR_EXIT_OK, or the exit code once it has said why the job could not run. */
static int
run_job (Job *job)
{
  GThread *thread;
  int ret;

  job->cluster = tsr_cli_cluster (job->cli, TRUE);
  if (job->cluster == NULL)
    return TSR_EXIT_FAILED;
  thread = g_thread_new ("tsr-cli-job", job_thread, job);
  while (!g_atomic_int_get (&job->done))
    g_main_context_iteration (NULL, TRUE);
  g_thread_join (thread);
  if (job->tty)
    fprintf (stderr, "\r\033[K");
  if (job->ok)
    return TSR_EXIT_OK;
  ret = tsr_cli_fail (job->cli, job->error);
  g_clear_error (&job->error);
  return ret;
}

static void
print_repair (TsrCli *cli, const TsrRepairReport *r)
{
  if (cli->json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      SET_INT (b, "files", r->files);
      SET_INT (b, "chunks", r->chunks);
      SET_INT (b, "copies_missing", r->copies_missing);
      SET_INT (b, "copies_made", r->copies_made);
      SET_INT (b, "bytes_copied", r->bytes_copied);
      SET_INT (b, "files_updated", r->files_updated);
      SET_INT (b, "chunks_degraded", r->chunks_degraded);
      SET_INT (b, "chunks_lost", r->chunks_lost);
      json_builder_end_object (b);
      tsr_cli_print_builder (b);
      return;
    }
  {
    g_autofree char *bytes = g_format_size (r->bytes_copied);
    printf (_ ("Checked %llu files (%llu chunks): %llu copies were missing, %llu made (%s), %llu "
               "manifests updated.\n"),
            (unsigned long long)r->files, (unsigned long long)r->chunks,
            (unsigned long long)r->copies_missing, (unsigned long long)r->copies_made, bytes,
            (unsigned long long)r->files_updated);
  }
  if (r->chunks_degraded > 0 || r->chunks_lost > 0)
    printf (_ ("Still short: %llu chunks lack copies and %llu have none on a node that is up; "
               "bring nodes back or add some, then repair again.\n"),
            (unsigned long long)r->chunks_degraded, (unsigned long long)r->chunks_lost);
}

int
tsr_cli_cmd_repair (TsrCli *cli, int argc, char **argv)
{
  Job job = { cli, NULL, JOB_REPAIR, 0, isatty (STDERR_FILENO) && !cli->json };
  int ret;

  if (argc > 1)
    return tsr_cli_usage_error ("repair", _ ("takes no arguments"));
  if ((ret = run_job (&job)) != TSR_EXIT_OK)
    return ret;
  print_repair (cli, &job.repair);
  return job.repair.chunks_degraded > 0 || job.repair.chunks_lost > 0 ? TSR_EXIT_FAILED
                                                                      : TSR_EXIT_OK;
}

int
tsr_cli_cmd_rebalance (TsrCli *cli, int argc, char **argv)
{
  Job job = { cli, NULL, JOB_REBALANCE, 0, isatty (STDERR_FILENO) && !cli->json };
  const TsrRebalanceReport *r = &job.rebalance;
  int ret;

  if (argc > 1)
    return tsr_cli_usage_error ("rebalance", _ ("takes no arguments"));
  if ((ret = run_job (&job)) != TSR_EXIT_OK)
    return ret;
  if (cli->json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      SET_INT (b, "files", r->files);
      SET_INT (b, "files_updated", r->files_updated);
      SET_INT (b, "copies_moved", r->copies_moved);
      SET_INT (b, "bytes_moved", r->bytes_moved);
      SET_INT (b, "copies_failed", r->copies_failed);
      json_builder_end_object (b);
      tsr_cli_print_builder (b);
    }
  else if (r->copies_moved == 0 && r->copies_failed == 0)
    printf (_ ("Checked %llu files: the nodes are balanced, nothing to move.\n"),
            (unsigned long long)r->files);
  else
    {
      g_autofree char *bytes = g_format_size (r->bytes_moved);
      printf (_ ("Checked %llu files: moved %llu copies (%s) to nodes with room under their "
                 "share, %llu manifests updated.\n"),
              (unsigned long long)r->files, (unsigned long long)r->copies_moved, bytes,
              (unsigned long long)r->files_updated);
      if (r->copies_failed > 0)
        printf (_ ("%llu copies could not be moved (a node refused them); run rebalance again "
                   "later.\n"),
                (unsigned long long)r->copies_failed);
    }
  return r->copies_failed > 0 ? TSR_EXIT_FAILED : TSR_EXIT_OK;
}

int
tsr_cli_cmd_scrub (TsrCli *cli, int argc, char **argv)
{
  Job job = { cli, NULL, JOB_SCRUB, 0, isatty (STDERR_FILENO) && !cli->json };
  TsrScrubReport r;
  int ret;

  if (argc > 1)
    return tsr_cli_usage_error ("scrub", _ ("takes no arguments"));
  if ((ret = run_job (&job)) != TSR_EXIT_OK)
    return ret;
  r = job.scrub;
  if (cli->json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      SET_INT (b, "nodes", r.nodes);
      SET_INT (b, "checked", r.checked);
      SET_INT (b, "bytes", r.bytes);
      SET_INT (b, "corrupt", r.corrupt);
      SET_INT (b, "repaired", r.repaired);
      SET_INT (b, "lost", r.lost);
      json_builder_end_object (b);
      tsr_cli_print_builder (b);
    }
  else
    {
      g_autofree char *bytes = g_format_size (r.bytes);
      printf (_ ("Scrubbed %llu nodes: %llu copies (%s) checked, %llu corrupt or missing "
                 "(quarantined), %llu copies made again.\n"),
              (unsigned long long)r.nodes, (unsigned long long)r.checked, bytes,
              (unsigned long long)r.corrupt, (unsigned long long)r.repaired);
      if (r.lost > 0)
        printf (ngettext ("%llu chunk has no healthy copy left.\n",
                          "%llu chunks have no healthy copy left.\n", r.lost),
                (unsigned long long)r.lost);
    }
  return r.lost > 0 ? TSR_EXIT_FAILED : TSR_EXIT_OK;
}

int
tsr_cli_cmd_gc (TsrCli *cli, int argc, char **argv)
{
  Job job = { cli, NULL, JOB_GC, 0, FALSE };
  TsrGcReport r;
  guint64 grace = 0;
  int ret;

  if (argc == 3 && strcmp (argv[1], "--grace") == 0)
    {
      char *end = NULL;
      grace = g_ascii_strtoull (argv[2], &end, 10);
      if (end == argv[2] || *end != '\0' || grace > G_MAXUINT)
        return tsr_cli_usage_error ("gc", _ ("--grace takes a number of seconds"));
    }
  else if (argc != 1)
    return tsr_cli_usage_error ("gc", _ ("use: gc [--grace SECONDS]"));
  job.grace = (guint)grace;
  if ((ret = run_job (&job)) != TSR_EXIT_OK)
    return ret;
  r = job.gc;
  if (cli->json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      SET_INT (b, "nodes", r.nodes);
      SET_INT (b, "segments", r.segments);
      SET_INT (b, "orphans", r.orphans);
      SET_INT (b, "bytes", r.bytes);
      SET_INT (b, "young", r.young);
      SET_INT (b, "temp_files", r.temp_files);
      json_builder_end_object (b);
      tsr_cli_print_builder (b);
    }
  else
    {
      g_autofree char *bytes = g_format_size (r.bytes);
      printf (_ ("Collected %llu orphaned copies (%s) of %llu on %llu nodes"),
              (unsigned long long)r.orphans, bytes, (unsigned long long)r.segments,
              (unsigned long long)r.nodes);
      if (r.young > 0)
        printf (_ ("; left %llu younger than %llu s"), (unsigned long long)r.young,
                (unsigned long long)grace);
      if (r.temp_files > 0)
        printf (_ ("; removed %llu half-written manifests"), (unsigned long long)r.temp_files);
      printf (".\n");
    }
  return TSR_EXIT_OK;
}

static void
print_drain_progress (const char *what, guint64 done, guint64 total, gpointer data)
{
  if (GPOINTER_TO_INT (data) && total > 0)
    {
      fputc ('\r', stderr);
      fprintf (stderr, _ ("draining: %llu of %llu files"), (unsigned long long)done,
               (unsigned long long)total);
    }
}

/* `node remove ID`, reached from tsr_cli_cmd_node. */
int
tsr_cli_cmd_node_remove (TsrCli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  TsrRepairReport r;
  TsrCluster *cluster;
  gboolean tty = isatty (STDERR_FILENO) && !cli->json;
  gboolean ok;

  if (argc != 3)
    return tsr_cli_usage_error ("node", _ ("use: node remove NODE_ID"));
  cluster = tsr_cli_cluster (cli, TRUE);
  if (cluster == NULL)
    return TSR_EXIT_FAILED;
  ok = tsr_cluster_remove_node (cluster, argv[2], print_drain_progress, GINT_TO_POINTER (tty),
                                cli->cancellable, &r, &error);
  if (tty)
    fprintf (stderr, "\r\033[K");
  if (!ok)
    return tsr_cli_fail (cli, error);
  if (cli->json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "node_id");
      json_builder_add_string_value (b, argv[2]);
      json_builder_set_member_name (b, "removed");
      json_builder_add_boolean_value (b, TRUE);
      SET_INT (b, "copies_made", r.copies_made);
      SET_INT (b, "files_updated", r.files_updated);
      json_builder_end_object (b);
      tsr_cli_print_builder (b);
    }
  else
    {
      g_autofree char *dir = g_build_filename (cli->data_dir, "nodes", argv[2], NULL);
      printf (ngettext ("%s removed after moving %llu copy to other nodes.\n",
                        "%s removed after moving %llu copies to other nodes.\n", r.copies_made),
              argv[2], (unsigned long long)r.copies_made);
      if (g_file_test (dir, G_FILE_TEST_IS_DIR))
        printf (_ ("Its directory %s is no longer used; delete it when you like.\n"), dir);
    }
  return TSR_EXIT_OK;
}
