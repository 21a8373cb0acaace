/* tsr-maintenance.c
 *
 * Everything here works from two sources of truth: the manifests (which node should hold a
 * copy of which segment) and the nodes themselves (ListSegments: what they do hold). No key
 * is needed: segments are addressed by the hash of their ciphertext, so any copy can be
 * verified and moved without decrypting it, and the catalogs of every user are maintained.
 *
 * Repair is stateless, hence idempotent and resumable: each run recomputes what is short
 * from the current state. New copies are stored and synced before the manifest that lists
 * them is rewritten (atomically, under the catalog lock so a deleted file never comes back);
 * a copy stored by a run that was killed before its manifest was rewritten is found by the
 * next run on its node and adopted instead of sent again, or collected as garbage.
 *
 * Garbage collection deletes copies that no manifest lists on their node. It holds the
 * segments lock exclusively, so it never runs while an upload or a repair of this process
 * has stored segments that its manifest does not list yet; the grace period protects
 * anything else young.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tsr-maintenance.h"
#include "tsr-cluster-private.h"
#include "tsr-error.h"
#include "tsr-hash.h"

#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>

const char *
tsr_file_health_state_to_string (TsrFileHealthState state)
{
  switch (state)
    {
      case TSR_FILE_HEALTHY:
        return "healthy";
      case TSR_FILE_DEGRADED:
        return "degraded";
      case TSR_FILE_LOST:
      default:
        return "lost";
    }
}

static const TsrNodeStatus *
find_status (GPtrArray *status, const char *node_id)
{
  for (guint i = 0; i < status->len; i++)
    {
      const TsrNodeStatus *s = status->pdata[i];
      if (g_strcmp0 (s->node_id, node_id) == 0)
        return s;
    }
  return NULL;
}

/* Distinct nodes in @nodes for which @usable says yes. */
static guint
count_copies (GPtrArray *nodes, gboolean (*usable) (gpointer, const char *), gpointer data)
{
  guint n = 0;

  for (guint i = 0; i < nodes->len; i++)
    {
      gboolean dup = FALSE;
      for (guint j = 0; j < i && !dup; j++)
        dup = g_strcmp0 (nodes->pdata[i], nodes->pdata[j]) == 0;
      if (!dup && usable (data, nodes->pdata[i]))
        n++;
    }
  return n;
}

static gboolean
node_is_up (gpointer data, const char *node_id)
{
  const TsrNodeStatus *s = find_status (data, node_id);
  return s != NULL && tsr_node_status_is_up (s);
}

/**
 * tsr_cluster_get_file_health:
 *
 * @manifest: a whole manifest or a summary (tsr_cluster_list_file_summaries())
 *
 * Health from @manifest and the node states of the last health check (no I/O): a copy counts
 * when its node is enabled and answered. A file survives the loss of any K nodes when every
 * chunk has at least K + 1 such copies.
 */
void
tsr_cluster_get_file_health (TsrCluster *self, const TsrManifest *manifest,
                             TsrFileHealthInfo *health)
{
  g_autoptr (GPtrArray) status = NULL;
  guint n_entries;

  g_return_if_fail (TSR_IS_CLUSTER (self));
  g_return_if_fail (manifest != NULL && health != NULL);

  status = tsr_cluster_dup_node_status (self);
  memset (health, 0, sizeof *health);
  health->replicas = manifest->replicas;
  /* A summary has each distinct placement once, with its number of chunks. */
  n_entries = manifest->placements ? manifest->placements->len : manifest->chunks->len;
  health->min_copies = n_entries > 0 ? G_MAXUINT : manifest->replicas;
  for (guint i = 0; i < n_entries; i++)
    {
      const TsrManifestPlacement *p = manifest->placements ? manifest->placements->pdata[i] : NULL;
      const TsrManifestChunk *c = p ? NULL : manifest->chunks->pdata[i];
      guint n = count_copies (p ? p->nodes : c->nodes, node_is_up, status);
      guint64 chunks = p ? p->chunks : 1;

      health->min_copies = MIN (health->min_copies, n);
      if (n == 0)
        health->lost_chunks += chunks;
      else if (n < manifest->replicas)
        health->degraded_chunks += chunks;
    }
  if (health->lost_chunks > 0)
    health->state = TSR_FILE_LOST;
  else if (health->degraded_chunks > 0)
    health->state = TSR_FILE_DEGRADED;
  else
    health->state = TSR_FILE_HEALTHY;
  health->survives = health->min_copies > 0 ? health->min_copies - 1 : 0;
}

/* ---- the catalogs ---- */

/* DATA_DIR/catalog and every DATA_DIR/users/NAME/catalog. */
static GPtrArray *
catalog_dirs (TsrCluster *self)
{
  const char *data_dir = tsr_cluster_get_data_dir (self);
  GPtrArray *dirs = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *users = g_build_filename (data_dir, "users", NULL);
  g_autoptr (GDir) d = g_dir_open (users, 0, NULL);
  const char *name;

  g_ptr_array_add (dirs, g_build_filename (data_dir, "catalog", NULL));
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      char *dir = g_build_filename (users, name, "catalog", NULL);
      if (g_file_test (dir, G_FILE_TEST_IS_DIR))
        g_ptr_array_add (dirs, dir);
      else
        g_free (dir);
    }
  return dirs;
}

static gboolean
is_manifest_name (const char *name)
{
  return strlen (name) == TSR_FILE_ID_LEN + 5 && g_str_has_suffix (name, ".json");
}

/* Every manifest path in every catalog. */
static GPtrArray *
manifest_paths (TsrCluster *self)
{
  g_autoptr (GPtrArray) dirs = catalog_dirs (self);
  GPtrArray *paths = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < dirs->len; i++)
    {
      g_autoptr (GDir) d = g_dir_open (dirs->pdata[i], 0, NULL);
      const char *name;

      while (d != NULL && (name = g_dir_read_name (d)) != NULL)
        if (is_manifest_name (name))
          g_ptr_array_add (paths, g_build_filename (dirs->pdata[i], name, NULL));
    }
  return paths;
}

/* ---- what the nodes hold ---- */

typedef struct
{
  char *node_id;
  gboolean up;          /* enabled, answered the health check and listed its segments */
  gboolean target;      /* may receive copies: up, not being drained, not full */
  gboolean needs_sync;  /* received or adopted copies since its last sync */
  GHashTable *segments; /* ids it holds; NULL when it could not be listed */
  gint64 listed_at;     /* when it was listed, in seconds since 1970 (a manifest's created_at) */
  guint64 used;         /* rebalance: bytes of the copies manifests list on it (count_listed()) */
  guint64 capacity;
} NodeView;

static void
node_view_free (NodeView *v)
{
  g_free (v->node_id);
  g_clear_pointer (&v->segments, g_hash_table_unref);
  g_free (v);
}

/* One view per node, in config order (the placement order). */
static GPtrArray *
view_nodes (TsrCluster *self, const char *drain, GCancellable *cancellable)
{
  g_autoptr (GPtrArray) status = tsr_cluster_dup_node_status (self);
  GPtrArray *views = g_ptr_array_new_with_free_func ((GDestroyNotify)node_view_free);

  for (guint i = 0; i < status->len; i++)
    {
      const TsrNodeStatus *s = status->pdata[i];
      NodeView *v = g_new0 (NodeView, 1);

      v->node_id = g_strdup (s->node_id);
      g_ptr_array_add (views, v);
      if (tsr_node_status_is_up (s))
        {
          g_autoptr (TsrNodeClient) client = _tsr_cluster_dup_client (self, s->node_id);
          g_autoptr (GPtrArray) list = NULL;
          g_autoptr (GError) error = NULL;

          /* Before the list: a copy stored while it is made may be missing from it. */
          v->listed_at = g_get_real_time () / G_USEC_PER_SEC;
          if (client != NULL)
            list = tsr_node_client_list_segments (client, cancellable, &error);
          if (list == NULL)
            {
              g_message ("Cannot list the segments of %s: %s", s->node_id,
                         error ? error->message : "disabled");
              continue;
            }
          v->segments = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
          for (guint j = 0; j < list->len; j++)
            g_hash_table_add (v->segments, g_strdup (((TsrSegmentInfo *)list->pdata[j])->id));
          v->capacity = s->capacity_bytes;
          v->up = TRUE;
          v->target =
              g_strcmp0 (drain, s->node_id) != 0 && !_tsr_cluster_is_draining (self, s->node_id);
        }
    }
  return views;
}

static NodeView *
find_view (GPtrArray *views, const char *node_id)
{
  for (guint i = 0; i < views->len; i++)
    {
      NodeView *v = views->pdata[i];
      if (g_strcmp0 (v->node_id, node_id) == 0)
        return v;
    }
  return NULL;
}

static gboolean
view_holds (NodeView *v, const char *segment_id)
{
  return v != NULL && v->up && g_hash_table_contains (v->segments, segment_id);
}

static gboolean
str_in (GPtrArray *list, const char *s)
{
  for (guint i = 0; i < list->len; i++)
    if (g_strcmp0 (list->pdata[i], s) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
is_node_problem (const GError *error)
{
  return error->domain == TSR_ERROR &&
         (error->code == TSR_ERROR_UNREACHABLE || error->code == TSR_ERROR_CLOSED ||
          error->code == TSR_ERROR_TIMEOUT || error->code == TSR_ERROR_IO ||
          error->code == TSR_ERROR_STOPPED || error->code == TSR_ERROR_IDENTITY);
}

/* Reads a copy from the first source that gives one matching its id. */
static GBytes *
fetch_copy (TsrCluster *self, GPtrArray *views, TsrManifestChunk *chunk, GPtrArray *sources,
            GCancellable *cancellable)
{
  for (guint i = 0; i < sources->len; i++)
    {
      g_autoptr (TsrNodeClient) client = _tsr_cluster_dup_client (self, sources->pdata[i]);
      g_autoptr (GError) error = NULL;
      GBytes *data;

      if (client == NULL)
        continue;
      data = tsr_node_client_retrieve_segment (client, chunk->segment_id, cancellable, &error);
      if (data != NULL)
        return data;
      g_message ("Repair cannot read segment %s from %s: %s", chunk->segment_id,
                 (char *)sources->pdata[i], error->message);
      if (is_node_problem (error))
        {
          NodeView *v = find_view (views, sources->pdata[i]);
          if (v != NULL)
            v->up = v->target = FALSE;
        }
    }
  return NULL;
}

/* Whether @v, a node that is up, has lost its copy of @segment_id: it listed its segments
 * without it, and after the manifest was committed (@created_at). A manifest committed since
 * (an upload running beside the walk, which holds the segments lock shared too) may name
 * copies stored after the list was made: those are not missing. */
static gboolean
view_lost (NodeView *v, const char *segment_id, gint64 created_at)
{
  return v != NULL && v->up && !view_holds (v, segment_id) && created_at < v->listed_at;
}

/* Brings one chunk of a manifest committed at @created_at back to @replicas copies on nodes
 * that are up. Returns whether its node list changed. */
static gboolean
repair_chunk (TsrCluster *self, GPtrArray *views, const char *drain, guint replicas,
              gint64 created_at, TsrManifestChunk *chunk, GCancellable *cancellable,
              TsrRepairReport *report)
{
  g_autoptr (GPtrArray) have = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) sources = g_ptr_array_new ();
  g_autoptr (GBytes) data = NULL;
  gboolean changed;
  guint n = views->len;
  guint unsure = 0; /* copies on nodes that are up but were listed before the commit */

  report->chunks++;
  for (guint i = 0; i < chunk->nodes->len; i++)
    {
      const char *id = chunk->nodes->pdata[i];
      NodeView *v = find_view (views, id);

      if (!view_holds (v, chunk->segment_id))
        continue;
      if (!str_in (sources, id))
        g_ptr_array_add (sources, (gpointer)id);
      if (g_strcmp0 (id, drain) != 0 && !str_in (have, id))
        g_ptr_array_add (have, g_strdup (id));
    }
  if (have->len < replicas)
    report->copies_missing += replicas - have->len;

  /* A copy a killed repair or upload left on a node that is up: adopt it rather than send
   * another (the sync before the manifest is rewritten makes it durable). */
  for (guint k = 0; k < n && have->len < replicas; k++)
    {
      NodeView *v = views->pdata[k];
      if (v->target && !str_in (have, v->node_id) && view_holds (v, chunk->segment_id))
        {
          g_ptr_array_add (have, g_strdup (v->node_id));
          v->needs_sync = TRUE;
          report->copies_made++;
        }
    }

  /* New copies go where placement would put them: from node (index mod n) onwards. */
  for (guint k = 0; k < n && have->len < replicas && sources->len > 0; k++)
    {
      NodeView *v = views->pdata[(chunk->index + k) % n];
      g_autoptr (TsrNodeClient) client = NULL;
      g_autoptr (GError) error = NULL;

      if (!v->target || str_in (have, v->node_id))
        continue;
      if (g_cancellable_is_cancelled (cancellable))
        break;
      if (data == NULL && (data = fetch_copy (self, views, chunk, sources, cancellable)) == NULL)
        break;
      client = _tsr_cluster_dup_client (self, v->node_id);
      if (client != NULL && tsr_node_client_store_segment (client, chunk->segment_id, data, TRUE,
                                                           cancellable, &error))
        {
          g_ptr_array_add (have, g_strdup (v->node_id));
          g_hash_table_add (v->segments, g_strdup (chunk->segment_id));
          v->needs_sync = TRUE;
          report->copies_made++;
          report->bytes_copied += g_bytes_get_size (data);
          continue;
        }
      /* Full or failing: no more copies go there in this run. */
      g_message ("Repair skips %s: %s", v->node_id, error ? error->message : "disabled");
      v->target = FALSE;
      if (error != NULL && is_node_problem (error))
        v->up = FALSE;
    }

  /* A copy on a node that is up but was listed before the manifest was committed was most
   * likely stored after the list was made (view_lost()): not counted as lost or degraded,
   * lest a file committed beside the walk look lost. Copies are still made above where a
   * source is known: a manifest's time is in whole seconds, and a copy a scrub just put
   * aside may look as new. Counted once the copies are made: a node may have taken one. */
  for (guint i = 0; i < chunk->nodes->len; i++)
    {
      const char *id = chunk->nodes->pdata[i];
      NodeView *v = find_view (views, id);

      unsure += g_strcmp0 (id, drain) != 0 && !str_in (have, id) && v != NULL && v->up &&
                !view_holds (v, chunk->segment_id) && !view_lost (v, chunk->segment_id, created_at);
    }
  if (have->len + unsure == 0)
    report->chunks_lost++;
  else if (have->len + unsure < replicas)
    report->chunks_degraded++;
  /* Short of copies: keep listing the nodes that are down too (and one being drained that
   * holds it), so the file is readable again if they come back. A node that is up and listed
   * its segments without this one has lost its copy (a scrub put it aside, a disk was wiped):
   * listing it still made a lost chunk look healthy. With all copies, list exactly where they
   * are. */
  if (have->len < replicas)
    for (guint i = 0; i < chunk->nodes->len; i++)
      {
        const char *id = chunk->nodes->pdata[i];
        NodeView *v = find_view (views, id);

        if (!str_in (have, id) && !view_lost (v, chunk->segment_id, created_at))
          g_ptr_array_add (have, g_strdup (id));
      }

  changed = have->len != chunk->nodes->len;
  for (guint i = 0; !changed && i < have->len; i++)
    changed = g_strcmp0 (have->pdata[i], chunk->nodes->pdata[i]) != 0;
  if (changed)
    {
      g_ptr_array_unref (chunk->nodes);
      chunk->nodes = g_steal_pointer (&have);
    }
  return changed;
}

static gboolean
sync_views (TsrCluster *self, GPtrArray *views, GCancellable *cancellable, GError **error)
{
  for (guint i = 0; i < views->len; i++)
    {
      NodeView *v = views->pdata[i];
      g_autoptr (TsrNodeClient) client = NULL;

      if (!v->needs_sync)
        continue;
      client = _tsr_cluster_dup_client (self, v->node_id);
      if (client == NULL)
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_UNREACHABLE,
                       _ ("%s was disabled before its new copies were made durable"), v->node_id);
          return FALSE;
        }
      if (!tsr_node_client_sync (client, cancellable, error))
        {
          g_prefix_error (error, _ ("Could not make the new copies on %s durable: "), v->node_id);
          return FALSE;
        }
      v->needs_sync = FALSE;
    }
  return TRUE;
}

/* For an upload whose copies on some node could not be made durable (tsr-cluster.c): gives
 * the chunks of @manifest, not committed yet, their copies back on other nodes, best effort.
 * Copies that cannot be made durable either are dropped again: the manifest lists only
 * durable copies. */
void
_tsr_cluster_top_up (TsrCluster *self, TsrManifest *manifest, guint replicas,
                     GCancellable *cancellable)
{
  g_autoptr (GPtrArray) views = view_nodes (self, NULL, cancellable);
  TsrRepairReport report = { 0 };

  /* Not committed: no copy counts as lost (G_MAXINT64); those that cannot be made durable are
   * dropped below. */
  for (guint c = 0; c < manifest->chunks->len; c++)
    repair_chunk (self, views, NULL, replicas, G_MAXINT64, manifest->chunks->pdata[c], cancellable,
                  &report);
  for (guint i = 0; i < views->len; i++)
    {
      NodeView *v = views->pdata[i];
      g_autoptr (TsrNodeClient) client = NULL;
      g_autoptr (GError) error = NULL;

      if (!v->needs_sync)
        continue;
      client = _tsr_cluster_dup_client (self, v->node_id);
      if (client != NULL && tsr_node_client_sync (client, cancellable, &error))
        continue;
      for (guint c = 0; c < manifest->chunks->len; c++)
        {
          TsrManifestChunk *chunk = manifest->chunks->pdata[c];
          /* Never drop the last copy: it was durable before this top-up began. */
          for (guint j = chunk->nodes->len; j-- > 0 && chunk->nodes->len > 1;)
            if (g_strcmp0 (chunk->nodes->pdata[j], v->node_id) == 0)
              g_ptr_array_remove_index (chunk->nodes, j);
        }
    }
}

/* Rewrites a manifest in place, atomically and durably, unless the file was deleted
 * meanwhile (a repair must never bring a deleted file back) or is no longer the upload @m was
 * loaded from: deleted and the same content uploaded again has the same path (the file id is
 * the content's hash) but a key and segments of its own, which @m must not replace. Uploads
 * commit their manifests under the same lock. Sets *@written when it wrote. */
gboolean
_tsr_cluster_rewrite_manifest (TsrCluster *self, const TsrManifest *m, const char *path,
                               gboolean *written, GError **error)
{
  g_autoptr (TsrManifest) now = NULL;
  gboolean ok = TRUE;

  *written = FALSE;
  _tsr_cluster_lock_catalog (self);
  now = tsr_manifest_load_summary (path, NULL);
  if (now != NULL && g_strcmp0 (now->sealed_key, m->sealed_key) == 0 &&
      now->created_at == m->created_at)
    ok = *written = tsr_manifest_save (m, path, error);
  _tsr_cluster_unlock_catalog (self);
  return ok;
}

/* The new copies first, then the manifest that lists them (the promise comes after the data,
 * as for uploads). *@written: see _tsr_cluster_rewrite_manifest(). */
static gboolean
commit_file (TsrCluster *self, GPtrArray *views, const TsrManifest *m, const char *path,
             gboolean *written, GCancellable *cancellable, GError **error)
{
  *written = FALSE;
  return sync_views (self, views, cancellable, error) &&
         _tsr_cluster_rewrite_manifest (self, m, path, written, error);
}

/* One file's part of a walk over the catalogs (walk_catalogs()): FALSE with @error stops the
 * walk; *@updated says the manifest was rewritten. */
typedef gboolean (*FileStep) (TsrCluster *self, GPtrArray *views, TsrManifest *m, const char *path,
                              gpointer data, GCancellable *cancellable, gboolean *updated,
                              GError **error);

/* One walk at a time in the process: a repair and a rebalance each rewrite a manifest from the
 * copy they loaded, so the second would undo the first's moves. */
static GMutex walk_lock;

/* Runs @step on every file of every catalog, @what naming the progress, with the segments lock
 * held shared (gc never runs between a step's stores and its manifest) and a view of the
 * nodes (@drain: see view_nodes()). Counts the files in *@files and the rewritten ones in
 * *@files_updated. */
static gboolean
walk_catalogs (TsrCluster *self, const char *what, const char *drain, FileStep step, gpointer data,
               TsrProgressFunc progress, gpointer user_data, GCancellable *cancellable,
               guint64 *files, guint64 *files_updated, GError **error)
{
  g_autoptr (GPtrArray) views = NULL;
  g_autoptr (GPtrArray) paths = NULL;
  gboolean ok = TRUE;

  /* The other walk first: waiting for it may outlast the cluster. Then counted, then checked:
   * see tsr_cluster_stop. */
  g_mutex_lock (&walk_lock);
  _tsr_cluster_begin_op (self);
  if (!_tsr_cluster_is_started (self))
    {
      _tsr_cluster_end_op (self);
      g_mutex_unlock (&walk_lock);
      g_set_error (error, TSR_ERROR, TSR_ERROR_STOPPED, _ ("The cluster is not started"));
      return FALSE;
    }
  _tsr_cluster_lock_segments (self, FALSE);
  views = view_nodes (self, drain, cancellable);
  paths = manifest_paths (self);
  for (guint i = 0; i < paths->len && ok; i++)
    {
      g_autoptr (GError) local_error = NULL;
      g_autoptr (TsrManifest) m = NULL;
      gboolean updated = FALSE;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          ok = FALSE;
          break;
        }
      if (progress != NULL)
        progress (what, i, paths->len, user_data);
      _tsr_cluster_emit_progress (self, what, i, paths->len);
      m = tsr_manifest_load (paths->pdata[i], &local_error);
      if (m == NULL)
        {
          /* Deleted since listing, or damaged: nothing to do for it here. */
          if (!g_error_matches (local_error, TSR_ERROR, TSR_ERROR_NOT_FOUND))
            g_message ("%s skips a damaged manifest: %s", what, local_error->message);
          continue;
        }
      (*files)++;
      ok = step (self, views, m, paths->pdata[i], data, cancellable, &updated, error);
      if (updated)
        (*files_updated)++;
    }
  if (ok && progress != NULL)
    progress (what, paths->len, paths->len, user_data);
  if (ok)
    _tsr_cluster_emit_progress (self, what, paths->len, paths->len);
  _tsr_cluster_unlock_segments (self, FALSE);
  _tsr_cluster_end_op (self);
  g_mutex_unlock (&walk_lock);
  if (*files_updated > 0)
    _tsr_cluster_emit_files_changed (self);
  return ok;
}

typedef struct
{
  const char *drain;
  TsrRepairReport *report;
  guint64 *drain_left;
} RepairWalk;

static gboolean
repair_step (TsrCluster *self, GPtrArray *views, TsrManifest *m, const char *path, gpointer data,
             GCancellable *cancellable, gboolean *updated, GError **error)
{
  RepairWalk *w = data;
  gboolean changed = FALSE;

  for (guint c = 0; c < m->chunks->len; c++)
    {
      TsrManifestChunk *chunk = m->chunks->pdata[c];
      changed |= repair_chunk (self, views, w->drain, MAX (m->replicas, 1), m->created_at, chunk,
                               cancellable, w->report);
      if (w->drain_left != NULL && str_in (chunk->nodes, w->drain))
        (*w->drain_left)++;
    }
  if (!changed)
    return TRUE;
  return commit_file (self, views, m, path, updated, cancellable, error);
}

/* @drain: a node whose copies do not count and which gets no new ones (node remove). Returns
 * in @drain_left the chunks that still list it afterwards. */
static gboolean
repair_full (TsrCluster *self, const char *drain, TsrProgressFunc progress, gpointer user_data,
             GCancellable *cancellable, TsrRepairReport *report, guint64 *drain_left,
             GError **error)
{
  RepairWalk w = { drain, report, drain_left };

  memset (report, 0, sizeof *report);
  if (drain_left != NULL)
    *drain_left = 0;
  return walk_catalogs (self, "repair", drain, repair_step, &w, progress, user_data, cancellable,
                        &report->files, &report->files_updated, error);
}

/**
 * tsr_cluster_repair:
 * @progress: (nullable): called on this thread after each file
 * @report: (out caller-allocates): what was found and done
 *
 * Finds every chunk of every file (all users' catalogs) with fewer healthy copies than the
 * replication factor — on a node that is down or disabled, missing from its node, or
 * quarantined by a scrub — and copies it from a healthy replica to other nodes that are up
 * and have room, in placement order. Each rewritten manifest is saved atomically after the
 * new copies are durable. Idempotent; a killed run is finished by the next one. Blocks: run
 * it on a worker thread or use tsr_cluster_repair_async(). Chunks that cannot be brought
 * back to full strength are counted in the report, not an error.
 */
gboolean
tsr_cluster_repair (TsrCluster *self, TsrProgressFunc progress, gpointer user_data,
                    GCancellable *cancellable, TsrRepairReport *report, GError **error)
{
  TsrRepairReport local;

  g_return_val_if_fail (TSR_IS_CLUSTER (self), FALSE);
  return repair_full (self, NULL, progress, user_data, cancellable, report ? report : &local, NULL,
                      error);
}

/* ---- scrub ---- */

/**
 * tsr_cluster_scrub:
 * @report: (out caller-allocates): counts
 *
 * Asks every node that is up to re-hash all its segments now (a page at a time); corrupt
 * copies are quarantined by the nodes, then a repair makes them again from healthy
 * replicas. Blocks; see tsr_cluster_scrub_async().
 */
gboolean
tsr_cluster_scrub (TsrCluster *self, TsrProgressFunc progress, gpointer user_data,
                   GCancellable *cancellable, TsrScrubReport *report, GError **error)
{
  g_autoptr (GPtrArray) status = NULL;
  TsrRepairReport repair;
  TsrScrubReport local;

  g_return_val_if_fail (TSR_IS_CLUSTER (self), FALSE);

  if (report == NULL)
    report = &local;
  memset (report, 0, sizeof *report);
  if (!tsr_cluster_check_health (self, cancellable, error))
    return FALSE;
  status = tsr_cluster_dup_node_status (self);
  _tsr_cluster_begin_op (self);
  for (guint i = 0; i < status->len; i++)
    {
      const TsrNodeStatus *s = status->pdata[i];
      g_autoptr (TsrNodeClient) client = NULL;
      g_autofree char *after = NULL;

      if (progress != NULL)
        progress ("scrub", i, status->len, user_data);
      if (!tsr_node_status_is_up (s) ||
          (client = _tsr_cluster_dup_client (self, s->node_id)) == NULL)
        continue;
      report->nodes++;
      for (;;)
        {
          TsrScrubResult r;
          g_autoptr (GError) local_error = NULL;

          if (!tsr_node_client_scrub (client, after, 0, &r, cancellable, &local_error))
            {
              if (g_cancellable_set_error_if_cancelled (cancellable, error))
                {
                  _tsr_cluster_end_op (self);
                  return FALSE;
                }
              g_message ("Scrub of %s stopped: %s", s->node_id, local_error->message);
              break;
            }
          report->checked += r.checked;
          report->bytes += r.bytes;
          report->corrupt += r.corrupt->len;
          g_free (after);
          after = g_steal_pointer (&r.next);
          tsr_scrub_result_clear (&r);
          if (after == NULL)
            break;
        }
    }
  _tsr_cluster_end_op (self);
  if (progress != NULL)
    progress ("scrub", status->len, status->len, user_data);
  if (!tsr_cluster_repair (self, progress, user_data, cancellable, &repair, error))
    return FALSE;
  report->repaired = repair.copies_made;
  report->lost = repair.chunks_lost;
  return TRUE;
}

/* ---- garbage collection ---- */

/* node id -> set of segment ids that manifests list on it. Fails on a damaged manifest:
 * collecting then could delete the only copies of a file someone can still mend. */
static GHashTable *
listed_copies (TsrCluster *self, GError **error)
{
  g_autoptr (GHashTable) listed =
      g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_hash_table_unref);
  g_autoptr (GPtrArray) paths = manifest_paths (self);

  for (guint i = 0; i < paths->len; i++)
    {
      g_autoptr (GError) local_error = NULL;
      g_autoptr (TsrManifest) m = tsr_manifest_load (paths->pdata[i], &local_error);

      if (m == NULL && g_error_matches (local_error, TSR_ERROR, TSR_ERROR_NOT_FOUND))
        continue;
      if (m == NULL)
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_CORRUPT,
                       _ ("Not collecting garbage: %s is damaged (%s), and its segments would look "
                          "unused; move it out of the catalog first"),
                       (char *)paths->pdata[i], local_error->message);
          return NULL;
        }
      for (guint c = 0; c < m->chunks->len; c++)
        {
          TsrManifestChunk *chunk = m->chunks->pdata[c];
          for (guint n = 0; n < chunk->nodes->len; n++)
            {
              GHashTable *set = g_hash_table_lookup (listed, chunk->nodes->pdata[n]);
              if (set == NULL)
                {
                  set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
                  g_hash_table_insert (listed, g_strdup (chunk->nodes->pdata[n]), set);
                }
              g_hash_table_add (set, g_strdup (chunk->segment_id));
            }
        }
    }
  return g_steal_pointer (&listed);
}

/* A manifest commit killed between writing its temporary file and linking it. */
static void
remove_catalog_leftovers (TsrCluster *self, guint grace_seconds, TsrGcReport *report)
{
  g_autoptr (GPtrArray) dirs = catalog_dirs (self);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  for (guint i = 0; i < dirs->len; i++)
    {
      g_autoptr (GDir) d = g_dir_open (dirs->pdata[i], 0, NULL);
      const char *name;

      while (d != NULL && (name = g_dir_read_name (d)) != NULL)
        {
          g_autofree char *path = NULL;
          GStatBuf st;

          /* FILEID.json.XXXXXX (save_new) or FILEID.json.XXXXXX from g_file_set_contents. */
          if (strlen (name) != TSR_FILE_ID_LEN + 5 + 7 ||
              strncmp (name + TSR_FILE_ID_LEN, ".json.", 6) != 0)
            continue;
          path = g_build_filename (dirs->pdata[i], name, NULL);
          if (g_stat (path, &st) == 0 && now - st.st_mtime >= (gint64)grace_seconds &&
              g_unlink (path) == 0)
            report->temp_files++;
        }
    }
}

/**
 * tsr_cluster_gc:
 * @grace_seconds: leave copies younger than this alone (they may belong to an upload another
 *   program is making through the same nodes)
 * @report: (out caller-allocates): counts
 *
 * Deletes every copy, on every node that is up, that no manifest lists on that node: the
 * leftovers of uploads, deletes and repairs that were killed, and copies that a repair
 * replaced while their node was down. Waits for this process's uploads and repairs to finish
 * first. Nodes that are down are collected on a later run.
 */
gboolean
tsr_cluster_gc (TsrCluster *self, guint grace_seconds, GCancellable *cancellable,
                TsrGcReport *report, GError **error)
{
  g_autoptr (GHashTable) listed = NULL;
  g_autoptr (GPtrArray) status = NULL;
  TsrGcReport local;
  gboolean ok = TRUE;

  g_return_val_if_fail (TSR_IS_CLUSTER (self), FALSE);

  if (report == NULL)
    report = &local;
  memset (report, 0, sizeof *report);
  _tsr_cluster_begin_op (self);
  if (!_tsr_cluster_is_started (self))
    {
      _tsr_cluster_end_op (self);
      g_set_error (error, TSR_ERROR, TSR_ERROR_STOPPED, _ ("The cluster is not started"));
      return FALSE;
    }
  _tsr_cluster_lock_segments (self, TRUE);
  listed = listed_copies (self, error);
  if (listed == NULL)
    ok = FALSE;
  status = tsr_cluster_dup_node_status (self);
  for (guint i = 0; ok && i < status->len; i++)
    {
      const TsrNodeStatus *s = status->pdata[i];
      g_autoptr (TsrNodeClient) client = NULL;
      g_autoptr (GPtrArray) list = NULL;
      g_autoptr (GError) local_error = NULL;
      GHashTable *set = g_hash_table_lookup (listed, s->node_id);
      guint deleted = 0;

      if (!tsr_node_status_is_up (s) ||
          (client = _tsr_cluster_dup_client (self, s->node_id)) == NULL)
        continue;
      list = tsr_node_client_list_segments (client, cancellable, &local_error);
      if (list == NULL)
        {
          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            ok = FALSE;
          else
            g_message ("Garbage collection skips %s: %s", s->node_id, local_error->message);
          continue;
        }
      report->nodes++;
      for (guint j = 0; j < list->len; j++)
        {
          TsrSegmentInfo *info = list->pdata[j];
          g_autoptr (GError) del_error = NULL;

          report->segments++;
          if (set != NULL && g_hash_table_contains (set, info->id))
            continue;
          if (info->age_seconds < grace_seconds)
            {
              report->young++;
              continue;
            }
          if (tsr_node_client_delete_segment (client, info->id, cancellable, &del_error) ||
              g_error_matches (del_error, TSR_ERROR, TSR_ERROR_NOT_FOUND))
            {
              report->orphans++;
              report->bytes += info->size;
              deleted++;
            }
          else
            g_message ("Garbage collection cannot delete %s on %s: %s", info->id, s->node_id,
                       del_error->message);
        }
      if (deleted > 0 && !tsr_node_client_sync (client, cancellable, &local_error))
        g_message ("Garbage collection on %s: %s", s->node_id, local_error->message);
    }
  if (ok)
    remove_catalog_leftovers (self, grace_seconds, report);
  _tsr_cluster_unlock_segments (self, TRUE);
  _tsr_cluster_end_op (self);
  if (ok && report->orphans > 0)
    g_debug ("Garbage collection: %" G_GUINT64_FORMAT " orphaned copies, %" G_GUINT64_FORMAT
             " bytes",
             report->orphans, report->bytes);
  return ok;
}

/* ---- node remove ---- */

/**
 * tsr_cluster_remove_node:
 * @report: (out caller-allocates) (optional): what the drain copied
 *
 * Drains @node_id: every chunk with a copy on it gets its full number of copies on the other
 * nodes first (from any healthy replica, the node itself included while it is up), the
 * manifests stop listing it, and only then is it stopped and taken out of the cluster
 * config. Refuses, changing nothing in the config, when the other nodes cannot take its
 * copies. Its directory is left on disk. Blocks; call it from a worker thread in a GUI.
 */
gboolean
tsr_cluster_remove_node (TsrCluster *self, const char *node_id, TsrProgressFunc progress,
                         gpointer user_data, GCancellable *cancellable, TsrRepairReport *report,
                         GError **error)
{
  const TsrClusterConfig *config;
  TsrRepairReport local;
  guint64 left = 0;
  gboolean removed = FALSE;

  g_return_val_if_fail (TSR_IS_CLUSTER (self), FALSE);
  g_return_val_if_fail (node_id != NULL, FALSE);

  if (report == NULL)
    report = &local;
  config = tsr_cluster_get_config (self);
  if (tsr_cluster_config_find (config, node_id) == NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND, _ ("There is no node %s"), node_id);
      return FALSE;
    }
  if (config->nodes->len <= config->replicas)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
                   _ ("Cannot remove %s: files are kept in %u copies on different nodes and only "
                      "%u nodes would be left; add a node first"),
                   node_id, config->replicas, config->nodes->len - 1);
      return FALSE;
    }
  /* From here to its removal, no upload, repair or rebalance puts a new copy on it. An upload
   * that began before the mark still may, and its manifest could come after the drain's walk:
   * uploads hold the segments lock shared from their first store to their manifest, so taking
   * it once exclusively waits them out. (A repair or rebalance under way holds the walk lock,
   * which the drain's own walk waits for.) */
  _tsr_cluster_set_draining (self, node_id, TRUE);
  _tsr_cluster_lock_segments (self, TRUE);
  _tsr_cluster_unlock_segments (self, TRUE);
  if (tsr_cluster_check_health (self, cancellable, error) &&
      repair_full (self, node_id, progress, user_data, cancellable, report, &left, error))
    {
      if (left > 0)
        g_set_error (error, TSR_ERROR, TSR_ERROR_NO_SPACE,
                     _ ("Cannot remove %s yet: %llu chunks could not be given their copies "
                        "elsewhere (are the other nodes up, and do they have room?); nothing was "
                        "removed"),
                     node_id, (unsigned long long)left);
      else
        removed = _tsr_cluster_remove_member (self, node_id, error);
    }
  /* Not removed: it takes copies again. */
  if (!removed)
    _tsr_cluster_set_draining (self, node_id, FALSE);
  return removed;
}

/* ---- rebalance ---- */

/* What @v should hold of @used bytes in all, spread over @capacity bytes of nodes that are
 * up: its share in proportion to its capacity, rounded to the nearest byte (so that equal
 * nodes get exactly equal shares where the bytes divide evenly). */
static guint64
fair_share (const NodeView *v, guint64 used, guint64 capacity)
{
  return capacity > 0 ? (guint64)((double)used * ((double)v->capacity / (double)capacity) + 0.5)
                      : 0;
}

/* The node that may take a copy of @size bytes of @chunk and stays at or under its share
 * with it, the furthest under first; NULL when none may. */
static NodeView *
pick_receiver (GPtrArray *views, const TsrManifestChunk *chunk, gsize size, guint64 used,
               guint64 capacity)
{
  NodeView *best = NULL;
  guint64 best_room = 0;

  for (guint i = 0; i < views->len; i++)
    {
      NodeView *v = views->pdata[i];
      guint64 share = fair_share (v, used, capacity);

      if (!v->target || str_in (chunk->nodes, v->node_id) || v->used + size > share ||
          v->used + size > v->capacity)
        continue;
      if (best == NULL || share - v->used > best_room)
        {
          best = v;
          best_room = share - v->used;
        }
    }
  return best;
}

typedef struct
{
  char *node_id;
  char *segment_id;
} Move;

static void
move_free (Move *move)
{
  g_free (move->node_id);
  g_free (move->segment_id);
  g_free (move);
}

/* Moves copies of @m's chunks from nodes over their share to nodes under it, at most one copy
 * per chunk, so that a reader holding the manifest from before still finds every chunk. Fills
 * @moved with the copies to delete from their old nodes once the manifest is rewritten.
 * Returns whether any chunk's nodes changed. */
static gboolean
rebalance_file (TsrCluster *self, GPtrArray *views, TsrManifest *m, guint64 used, guint64 capacity,
                GPtrArray *moved, GCancellable *cancellable, TsrRebalanceReport *report)
{
  gboolean changed = FALSE;

  for (guint c = 0; c < m->chunks->len && !g_cancellable_is_cancelled (cancellable); c++)
    {
      TsrManifestChunk *chunk = m->chunks->pdata[c];
      guint live = 0;

      /* A chunk moves only while another copy stays where a reader of the old manifest
       * looks (one copy in all, or the other's node down: it waits for a later run). */
      for (guint j = 0; j < chunk->nodes->len; j++)
        live += view_holds (find_view (views, chunk->nodes->pdata[j]), chunk->segment_id);
      if (live < 2)
        continue;
      for (guint j = 0; j < chunk->nodes->len; j++)
        {
          NodeView *from = find_view (views, chunk->nodes->pdata[j]);
          g_autoptr (TsrNodeClient) client = NULL;
          g_autoptr (GPtrArray) source = NULL;
          g_autoptr (GBytes) data = NULL;
          g_autoptr (GError) error = NULL;
          NodeView *to;
          Move *move;

          if (!view_holds (from, chunk->segment_id) || from->capacity == 0 ||
              from->used <= fair_share (from, used, capacity))
            continue;
          to = pick_receiver (views, chunk, chunk->size, used, capacity);
          if (to == NULL)
            continue;
          client = _tsr_cluster_dup_client (self, to->node_id);
          if (client == NULL)
            {
              /* Disabled since the run began: it takes nothing more. */
              to->target = FALSE;
              break;
            }
          source = g_ptr_array_new ();
          g_ptr_array_add (source, from->node_id);
          data = fetch_copy (self, views, chunk, source, cancellable);
          if (data == NULL)
            break; /* the source failed: fetch_copy() said so, and marked it if it is down */
          if (!tsr_node_client_store_segment (client, chunk->segment_id, data, TRUE, cancellable,
                                              &error))
            {
              g_message ("Rebalance skips %s: %s", to->node_id, error->message);
              to->target = FALSE;
              report->copies_failed++;
              break;
            }
          to->needs_sync = TRUE;
          to->used += g_bytes_get_size (data);
          g_hash_table_add (to->segments, g_strdup (chunk->segment_id));
          g_hash_table_remove (from->segments, chunk->segment_id);
          from->used -= MIN (from->used, g_bytes_get_size (data));
          move = g_new0 (Move, 1);
          move->node_id = g_strdup (from->node_id);
          move->segment_id = g_strdup (chunk->segment_id);
          g_ptr_array_add (moved, move);
          g_free (chunk->nodes->pdata[j]);
          chunk->nodes->pdata[j] = g_strdup (to->node_id);
          report->copies_moved++;
          report->bytes_moved += g_bytes_get_size (data);
          changed = TRUE;
          break; /* one copy of a chunk per run */
        }
    }
  return changed;
}

/* Whether some node that is up holds more than its share by at least @unit bytes while
 * another has room under its share for @unit more. */
static gboolean
unbalanced (GPtrArray *views, guint64 used, guint64 capacity, guint64 unit)
{
  gboolean over = FALSE, under = FALSE;

  for (guint i = 0; i < views->len; i++)
    {
      NodeView *v = views->pdata[i];
      guint64 share = fair_share (v, used, capacity);

      if (!v->up || v->capacity == 0)
        continue;
      over |= v->used >= share + unit;
      under |= v->target && v->used + unit <= share;
    }
  return over && under;
}

/* Sets each node's @used to the bytes of the copies that manifests list on it and that it
 * holds: garbage (copies of killed uploads or runs, of deleted files not yet collected) is no
 * part of a share, or a node holding some would give away live copies, and take them back
 * once gc freed it. */
static void
count_listed (TsrCluster *self, GPtrArray *views)
{
  g_autoptr (GPtrArray) paths = manifest_paths (self);

  for (guint i = 0; i < views->len; i++)
    ((NodeView *)views->pdata[i])->used = 0;
  for (guint i = 0; i < paths->len; i++)
    {
      g_autoptr (TsrManifest) m = tsr_manifest_load (paths->pdata[i], NULL);

      for (guint c = 0; m != NULL && c < m->chunks->len; c++)
        {
          TsrManifestChunk *chunk = m->chunks->pdata[c];

          for (guint j = 0; j < chunk->nodes->len; j++)
            {
              NodeView *v = find_view (views, chunk->nodes->pdata[j]);
              gboolean again = FALSE;

              for (guint k = 0; k < j; k++)
                again |= g_strcmp0 (chunk->nodes->pdata[k], chunk->nodes->pdata[j]) == 0;
              if (!again && view_holds (v, chunk->segment_id))
                v->used += chunk->size;
            }
        }
    }
}

typedef struct
{
  gboolean counted; /* @used and @capacity are summed */
  guint64 used;     /* bytes the nodes that are up hold */
  guint64 capacity; /* and their capacity */
  TsrRebalanceReport *report;
} RebalanceWalk;

static gboolean
rebalance_step (TsrCluster *self, GPtrArray *views, TsrManifest *m, const char *path, gpointer data,
                GCancellable *cancellable, gboolean *updated, GError **error)
{
  RebalanceWalk *w = data;
  g_autoptr (GPtrArray) moved = NULL;

  if (!w->counted)
    {
      count_listed (self, views);
      for (guint i = 0; i < views->len; i++)
        {
          NodeView *v = views->pdata[i];
          /* A node whose capacity is unknown takes no part. */
          if (v->up && v->capacity > 0)
            {
              w->used += v->used;
              w->capacity += v->capacity;
            }
        }
      w->counted = TRUE;
    }
  if (!unbalanced (views, w->used, w->capacity, MIN (m->chunk_size, MAX (m->size, 1)) + 16))
    return TRUE;
  moved = g_ptr_array_new_with_free_func ((GDestroyNotify)move_free);
  if (!rebalance_file (self, views, m, w->used, w->capacity, moved, cancellable, w->report))
    return TRUE;
  if (!commit_file (self, views, m, path, updated, cancellable, error))
    return FALSE;
  /* The old copies go last, and only if the manifest now says where the new ones are (else
   * the new ones are garbage, and the old ones still listed). */
  if (!*updated)
    return TRUE;
  for (guint k = 0; k < moved->len; k++)
    {
      Move *move = moved->pdata[k];
      g_autoptr (TsrNodeClient) client = _tsr_cluster_dup_client (self, move->node_id);
      g_autoptr (GError) delete_error = NULL;

      if (client == NULL ||
          !tsr_node_client_delete_segment (client, move->segment_id, cancellable, &delete_error))
        g_message ("Rebalance left a copy of %s on %s for gc: %s", move->segment_id, move->node_id,
                   delete_error ? delete_error->message : "disabled");
    }
  return TRUE;
}

/**
 * tsr_cluster_rebalance:
 * @progress: (nullable): called on this thread after each file
 * @report: (out caller-allocates) (optional): what was moved
 *
 * Evens out what the nodes that are up hold, in proportion to their capacity: copies move
 * from nodes over their share to nodes under it (a node added after files were uploaded gets
 * its part of them), never two copies of one chunk on one node, and at most one copy of a
 * chunk per run. As for repair, the new copies are made durable before the manifest that
 * lists them is rewritten, and the old copies are deleted only after that; a run that is
 * killed leaves copies that gc collects. Idempotent: a second run finds nothing to move.
 * Blocks; call it from a worker thread in a GUI.
 */
gboolean
tsr_cluster_rebalance (TsrCluster *self, TsrProgressFunc progress, gpointer user_data,
                       GCancellable *cancellable, TsrRebalanceReport *report, GError **error)
{
  TsrRebalanceReport local;
  RebalanceWalk w = { 0 };

  g_return_val_if_fail (TSR_IS_CLUSTER (self), FALSE);

  if (report == NULL)
    report = &local;
  memset (report, 0, sizeof *report);
  w.report = report;
  return walk_catalogs (self, "rebalance", NULL, rebalance_step, &w, progress, user_data,
                        cancellable, &report->files, &report->files_updated, error);
}

/* ---- async forms ---- */

typedef enum
{
  JOB_REPAIR,
  JOB_REBALANCE,
  JOB_SCRUB,
  JOB_GC,
} JobKind;

typedef struct
{
  JobKind kind;
  guint grace;
  union
  {
    TsrRepairReport repair;
    TsrRebalanceReport rebalance;
    TsrScrubReport scrub;
    TsrGcReport gc;
  } report;
} Job;

static void
job_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Job *job = data;
  GError *error = NULL;
  gboolean ok = FALSE;

  switch (job->kind)
    {
      case JOB_REPAIR:
        ok = tsr_cluster_repair (source, NULL, NULL, cancellable, &job->report.repair, &error);
        break;
      case JOB_REBALANCE:
        ok =
            tsr_cluster_rebalance (source, NULL, NULL, cancellable, &job->report.rebalance, &error);
        break;
      case JOB_SCRUB:
        ok = tsr_cluster_scrub (source, NULL, NULL, cancellable, &job->report.scrub, &error);
        break;
      case JOB_GC:
        ok = tsr_cluster_gc (source, job->grace, cancellable, &job->report.gc, &error);
        break;
    }
  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
run_job (TsrCluster *self, JobKind kind, guint grace, gpointer tag, GCancellable *cancellable,
         GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  Job *job = g_new0 (Job, 1);

  job->kind = kind;
  job->grace = grace;
  g_task_set_source_tag (task, tag);
  g_task_set_check_cancellable (task, FALSE);
  g_task_set_task_data (task, job, g_free);
  _tsr_task_run_in_own_thread (task, job_thread);
}

static gboolean
finish_job (GAsyncResult *result, gpointer out, gsize size, GError **error)
{
  Job *job = g_task_get_task_data (G_TASK (result));

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  if (out != NULL)
    memcpy (out, &job->report, size);
  return TRUE;
}

void
tsr_cluster_repair_async (TsrCluster *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                          gpointer user_data)
{
  run_job (self, JOB_REPAIR, 0, tsr_cluster_repair_async, cancellable, callback, user_data);
}

gboolean
tsr_cluster_repair_finish (TsrCluster *self, GAsyncResult *result, TsrRepairReport *report,
                           GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return finish_job (result, report, sizeof *report, error);
}

void
tsr_cluster_rebalance_async (TsrCluster *self, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  run_job (self, JOB_REBALANCE, 0, tsr_cluster_rebalance_async, cancellable, callback, user_data);
}

gboolean
tsr_cluster_rebalance_finish (TsrCluster *self, GAsyncResult *result, TsrRebalanceReport *report,
                              GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return finish_job (result, report, sizeof *report, error);
}

void
tsr_cluster_scrub_async (TsrCluster *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                         gpointer user_data)
{
  run_job (self, JOB_SCRUB, 0, tsr_cluster_scrub_async, cancellable, callback, user_data);
}

gboolean
tsr_cluster_scrub_finish (TsrCluster *self, GAsyncResult *result, TsrScrubReport *report,
                          GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return finish_job (result, report, sizeof *report, error);
}

void
tsr_cluster_gc_async (TsrCluster *self, guint grace_seconds, GCancellable *cancellable,
                      GAsyncReadyCallback callback, gpointer user_data)
{
  run_job (self, JOB_GC, grace_seconds, tsr_cluster_gc_async, cancellable, callback, user_data);
}

gboolean
tsr_cluster_gc_finish (TsrCluster *self, GAsyncResult *result, TsrGcReport *report, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return finish_job (result, report, sizeof *report, error);
}

/* ---- the background job ---- */

typedef struct
{
  GSource *source; /* on the owner's context, which need not be the global default */
  gboolean running;
} Maintenance;

static void
maintenance_free (gpointer data)
{
  Maintenance *mt = data;
  g_source_destroy (mt->source);
  g_source_unref (mt->source);
  g_free (mt);
}

static void
maintenance_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  TsrCluster *self = source;
  g_autoptr (GError) error = NULL;
  TsrRepairReport repair;
  TsrGcReport gc;

  if (!tsr_cluster_repair (self, NULL, NULL, NULL, &repair, &error))
    g_message ("Background repair: %s", error->message);
  else if (repair.copies_made > 0)
    g_message ("Background repair made %" G_GUINT64_FORMAT " copies", repair.copies_made);
  g_clear_error (&error);
  if (!tsr_cluster_gc (self, TSR_GC_GRACE_SECONDS, NULL, &gc, &error))
    g_message ("Background garbage collection: %s", error->message);
  g_task_return_boolean (task, TRUE);
}

static void
maintenance_done (GObject *source, GAsyncResult *result, gpointer data)
{
  Maintenance *mt = g_object_get_data (source, "tsr-maintenance");

  if (mt != NULL)
    mt->running = FALSE;
}

static gboolean
on_maintenance_timer (gpointer data)
{
  TsrCluster *self = data;
  Maintenance *mt = g_object_get_data (G_OBJECT (self), "tsr-maintenance");
  g_autoptr (GTask) task = NULL;

  if (mt == NULL || mt->running || !_tsr_cluster_is_started (self))
    return G_SOURCE_CONTINUE;
  mt->running = TRUE;
  task = g_task_new (self, NULL, maintenance_done, NULL);
  _tsr_task_run_in_own_thread (task, maintenance_thread);
  return G_SOURCE_CONTINUE;
}

/**
 * tsr_cluster_set_maintenance_interval:
 * @seconds: 0 turns it off
 *
 * Every @seconds, while the owner's main loop runs (the app, the shell), a repair and then a
 * garbage collection with a grace of TSR_GC_GRACE_SECONDS run on a worker thread.
 */
void
tsr_cluster_set_maintenance_interval (TsrCluster *self, guint seconds)
{
  Maintenance *mt;

  g_return_if_fail (TSR_IS_CLUSTER (self));

  g_object_set_data_full (G_OBJECT (self), "tsr-maintenance", NULL, NULL);
  if (seconds == 0)
    return;
  mt = g_new0 (Maintenance, 1);
  mt->source = g_timeout_source_new_seconds (seconds);
  g_source_set_callback (mt->source, on_maintenance_timer, self, NULL);
  g_source_attach (mt->source, _tsr_cluster_get_owner_context (self));
  g_object_set_data_full (G_OBJECT (self), "tsr-maintenance", mt, maintenance_free);
}
