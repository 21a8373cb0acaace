/* tsr-cluster.c
 *
 * Upload pipeline, bounded memory: the calling thread reads a chunk, hashes the plaintext,
 * encrypts it, hashes the ciphertext (the segment id) and hands chunks to the cluster's I/O
 * pool in groups of STORE_GROUP, which stores the copies on their nodes. At most
 * TSR_CLUSTER_UPLOAD_WINDOW chunks, and TRANSFER_WINDOW_BYTES, are in flight (and a group being
 * filled), so memory is bounded by the window, whatever the file or chunk size. When every chunk is
 * stored, each node that received segments is asked to make them durable (one sync per node), and
 * only then is the manifest written, atomically and durably: a manifest that exists is a promise
 * that its segments exist.
 *
 * Download mirrors it: the pool fetches up to TSR_CLUSTER_DOWNLOAD_WINDOW chunks (and
 * TRANSFER_WINDOW_BYTES) ahead, in
 * groups of FETCH_GROUP, from any live replica (each authenticated by its AEAD tag); the
 * calling thread puts them in order, hashes them and hands them to a TsrFileWriter for a
 * temporary file beside the destination, checks the whole-file SHA-256 and puts it in place.
 *
 * Signals are emitted on the main context that was the thread default when the cluster was
 * opened, whatever thread the work runs on; progress is coalesced to ten updates a second.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tsr-cluster.h"
#include "tsr-priority.h"
#include "tsr-chunker.h"
#include "tsr-cluster-private.h"
#include "tsr-crypto.h"
#include "tsr-error.h"
#include "tsr-file-writer.h"
#include "tsr-hash.h"
#include "tsr-identity.h"
#include "tsr-json.h"
#include "tsr-lock-file.h"
#include "tsr-maintenance.h"
#include "tsr-node-client.h"
#include "tsr-trust-store.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#define IO_THREADS           16
#define HEALTH_TIMEOUT_MS    3000
#define PROGRESS_INTERVAL_US (G_USEC_PER_SEC / 10)

typedef struct
{
  TsrNodeConfig *config;  /* owned by the cluster config */
  TsrSegmentStore *store; /* embedded nodes only */
  TsrNode *node;          /* embedded nodes only, while enabled */
  TsrNodeClient *client;  /* while enabled; under the cluster's lock, see member_dup_client */
  TsrNetemLink *link;     /* its emulated link, for the member's lifetime */
  TsrNodeStatus status;   /* under the cluster's lock */
  gboolean draining;      /* under the cluster's lock: being removed, so it takes no new copy */
} Member;

struct _TsrCluster
{
  GObject parent_instance;

  char *data_dir;
  char *catalog_dir;
  char *config_path;
  TsrLockFile *lock_file;
  TsrClusterConfig *config;
  TsrIdentity *identity;
  TsrKey *master_key;
  char *user;                  /* whose catalog and key are used; NULL: the shared ones */
  TsrKey *user_key;            /* that user's data key, which seals their files' keys */
  TsrChunkCipher chunk_cipher; /* what new uploads are sealed with */
  GMainContext *owner_context;
  GThreadPool *pool;

  GMutex lock; /* protects members' status and clients, and the count of operations */
  GCond idle_cond;
  guint active; /* transfers, deletes and health checks running; stop waits for none */
  GPtrArray *members;
  TsrNetem *netem;
  gboolean started;
  guint health_source;

  GRWLock segments_lock; /* see _tsr_cluster_lock_segments */
  GMutex catalog_lock;   /* see _tsr_cluster_lock_catalog */
  guint64 cache_budget;  /* bytes of an upload's first copies nodes keep in the page cache */
  TsrDownloadFile download_file; /* tests: a fallback forced */

  /* Uploads at once: see admit_upload() and tsr_cluster_upload_async(). */
  GMutex uploads_mutex; /* protects what follows */
  GCond uploads_cond;
  gsize next_ticket;
  GQueue tickets; /* uploads asked for and not yet let run, in the order asked (GSIZE_TO_POINTER) */
  guint uploads_running; /* admitted and not done */
  guint64 upload_bytes;  /* the sizes of those files */
  guint upload_threads;  /* threads running async uploads */
  GQueue pending;        /* of PendingUpload*: async uploads no thread took yet */
  guint peak_uploads;    /* the most uploads and bytes admitted at once (tests) */
  guint64 peak_upload_bytes;
};

G_DEFINE_FINAL_TYPE (TsrCluster, tsr_cluster, G_TYPE_OBJECT)

enum
{
  SIGNAL_NODE_STATE_CHANGED,
  SIGNAL_TRANSFER_PROGRESS,
  SIGNAL_STATISTICS_CHANGED,
  SIGNAL_FILES_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* Whether a node takes and serves copies: enabled, and up at the last health check. */
gboolean
tsr_node_status_is_up (const TsrNodeStatus *status)
{
  return status->enabled && status->alive;
}

/* What is left of a node's capacity (its quota). */
guint64
tsr_node_status_get_quota_left (const TsrNodeStatus *status)
{
  return status->capacity_bytes > status->used_bytes ? status->capacity_bytes - status->used_bytes
                                                     : 0;
}

/* What a node can still take: what is left of its quota, or less when its disk has less free
 * (a quota on a disk others fill too). */
guint64
tsr_node_status_get_available (const TsrNodeStatus *status)
{
  return MIN (tsr_node_status_get_quota_left (status), status->disk_free_bytes);
}

/* ---- free space by disk ----
 *
 * Nodes whose stores share a file system (the embedded ones, as a rule) share its free space:
 * five quotas of 10 GB on a disk with 20 GB free can take 20 GB, not 50. A tally adds up what
 * nodes could take, each disk's share within what that disk has free. */

static guint64
add_saturating (guint64 a, guint64 b)
{
  guint64 sum;

  return g_uint64_checked_add (&sum, a, b) ? sum : G_MAXUINT64;
}

/* One file system under nodes' stores. */
typedef struct
{
  guint64 free;   /* what it has free */
  guint64 wanted; /* what the nodes on it could take, each within its quota */
} Disk;

typedef struct
{
  GHashTable *disks; /* disk id -> Disk */
  guint64 alone;     /* what the nodes of unknown disks could take, each within its disk */
} SpaceTally;

static void
space_tally_init (SpaceTally *tally)
{
  tally->disks = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  tally->alone = 0;
}

/* A node on the disk @disk_id (0: unknown, counted on its own) with @free free, which could
 * take @wanted within its quota. */
static void
space_tally_add (SpaceTally *tally, guint64 disk_id, guint64 wanted, guint64 free)
{
  Disk *disk;

  if (disk_id == 0)
    {
      tally->alone = add_saturating (tally->alone, MIN (wanted, free));
      return;
    }
  disk = g_hash_table_lookup (tally->disks, &disk_id);
  if (disk == NULL)
    {
      gint64 *key = g_new (gint64, 1);

      *key = (gint64)disk_id;
      disk = g_new0 (Disk, 1);
      disk->free = free;
      g_hash_table_insert (tally->disks, key, disk);
    }
  /* Its nodes asked at different moments: the least they saw free. */
  disk->free = MIN (disk->free, free);
  disk->wanted = add_saturating (disk->wanted, wanted);
}

/* What the nodes added could take together; clears @tally. */
static guint64
space_tally_finish (SpaceTally *tally)
{
  guint64 total = tally->alone;
  GHashTableIter iter;
  Disk *disk;

  g_hash_table_iter_init (&iter, tally->disks);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&disk))
    total = add_saturating (total, MIN (disk->wanted, disk->free));
  g_clear_pointer (&tally->disks, g_hash_table_unref);
  return total;
}

/**
 * tsr_node_status_sum_available:
 * @statuses: (element-type TsrNodeStatus): nodes
 *
 * What the nodes of @statuses that are up could still take together: each within what is left
 * of its quota, and the nodes on one disk within what that disk has free, counted once. A
 * node that is down or disabled takes nothing until it is back.
 */
guint64
tsr_node_status_sum_available (GPtrArray *statuses)
{
  SpaceTally tally;

  space_tally_init (&tally);
  for (guint i = 0; i < statuses->len; i++)
    {
      const TsrNodeStatus *s = statuses->pdata[i];

      if (tsr_node_status_is_up (s))
        space_tally_add (&tally, s->disk_id, tsr_node_status_get_quota_left (s),
                         s->disk_free_bytes);
    }
  return space_tally_finish (&tally);
}

/* Where embedded node @m keeps its store. */
static char *
member_dir (TsrCluster *self, Member *m)
{
  return g_build_filename (self->data_dir, "nodes", m->config->node_id, NULL);
}

/* Notes the disk under @dir, embedded node @m's: the space tally counts the nodes on one
 * disk once, and a node not started learns no free space from a health check. */
static void
note_disk (TsrCluster *self, Member *m, const char *dir)
{
  guint64 disk_free, disk_id;

  tsr_segment_store_disk_of (dir, &disk_free, &disk_id);
  g_mutex_lock (&self->lock);
  m->status.disk_free_bytes = disk_free;
  m->status.disk_id = disk_id;
  g_mutex_unlock (&self->lock);
}

/* What @m, an embedded node that is disabled (its store not open), holds, as its store last
 * recorded it: shown as 0 bytes and 0 segments, it looked emptied. And its disk: what it could
 * take if enabled. */
static void
peek_usage (TsrCluster *self, Member *m)
{
  g_autofree char *dir = member_dir (self, m);
  g_autoptr (GError) local_error = NULL;
  guint64 used = 0;
  guint count = 0;

  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    return; /* never started: it holds nothing */
  note_disk (self, m, dir);
  if (!tsr_segment_store_peek_usage (dir, &used, &count, &local_error))
    {
      g_debug ("Usage of disabled %s unknown: %s", m->config->node_id, local_error->message);
      return;
    }
  g_mutex_lock (&self->lock);
  m->status.used_bytes = used;
  m->status.segment_count = count;
  g_mutex_unlock (&self->lock);
}

/* Why @m, an embedded node, is not running (NULL: it runs, or is down because it was asked to
 * be); takes @problem. */
static void
set_problem (TsrCluster *self, Member *m, char *problem)
{
  g_mutex_lock (&self->lock);
  g_free (m->status.problem);
  m->status.problem = problem;
  g_mutex_unlock (&self->lock);
}

void
tsr_node_status_free (TsrNodeStatus *status)
{
  if (status == NULL)
    return;
  g_free (status->node_id);
  g_free (status->address);
  g_free (status->virtual_address);
  g_free (status->problem);
  g_free (status);
}

static void
member_free (Member *m)
{
  if (m->node != NULL)
    tsr_node_stop (m->node);
  g_clear_object (&m->client);
  g_clear_object (&m->node);
  g_clear_pointer (&m->link, tsr_netem_link_unref);
  if (m->store != NULL)
    {
      g_autoptr (GError) error = NULL;
      if (!tsr_segment_store_close (m->store, &error))
        g_warning ("Closing %s: %s", m->config->node_id, error->message);
      g_clear_object (&m->store);
    }
  g_free (m->status.node_id);
  g_free (m->status.address);
  g_free (m->status.problem);
  g_free (m);
}

/* ---- signals, delivered on the owner's context ---- */

typedef struct
{
  GWeakRef self; /* a pending emission must not keep a closed cluster alive */
  guint signal;
  GCancellable *cancellable; /* identifies a transfer to its caller */
  char *name;
  TsrNodeState state;
  guint64 done, total;
  double rate;
} Emission;

static gboolean
emit_in_owner (gpointer data)
{
  Emission *e = data;
  g_autoptr (TsrCluster) self = g_weak_ref_get (&e->self);

  if (self == NULL)
    return G_SOURCE_REMOVE;
  switch (e->signal)
    {
      case SIGNAL_NODE_STATE_CHANGED:
        g_signal_emit (self, signals[e->signal], 0, e->name, e->state);
        break;
      case SIGNAL_TRANSFER_PROGRESS:
        g_signal_emit (self, signals[e->signal], 0, e->cancellable, e->name, e->done, e->total,
                       e->rate);
        break;
      default:
        g_signal_emit (self, signals[e->signal], 0);
    }
  return G_SOURCE_REMOVE;
}

static void
emission_free (gpointer data)
{
  Emission *e = data;
  g_weak_ref_clear (&e->self);
  g_clear_object (&e->cancellable);
  g_free (e->name);
  g_free (e);
}

/* Always deferred to the owner's context, even from the owner's thread: a worker must never
 * run handlers, and a handler must never run inside the engine's own call. */
static void
emit_full (TsrCluster *self, guint signal, GCancellable *cancellable, const char *name,
           TsrNodeState state, guint64 done, guint64 total, double rate)
{
  Emission *e = g_new0 (Emission, 1);
  GSource *source = g_idle_source_new ();

  g_weak_ref_init (&e->self, self);
  e->signal = signal;
  e->cancellable = cancellable != NULL ? g_object_ref (cancellable) : NULL;
  e->name = g_strdup (name);
  e->state = state;
  e->done = done;
  e->total = total;
  e->rate = rate;
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, emit_in_owner, e, emission_free);
  g_source_attach (source, self->owner_context);
  g_source_unref (source);
}

static void
emit (TsrCluster *self, guint signal, const char *name, TsrNodeState state, guint64 done,
      guint64 total, double rate)
{
  emit_full (self, signal, NULL, name, state, done, total, rate);
}

/* ---- opening and starting ---- */

/* $TESSERA_DATA_DIR, else $XDG_DATA_HOME/tessera. */
char *
tsr_default_data_dir (void)
{
  const char *env = g_getenv ("TESSERA_DATA_DIR");

  if (env != NULL && *env != '\0')
    return g_strdup (env);
  return g_build_filename (g_get_user_data_dir (), "tessera", NULL);
}

/**
 * tsr_cluster_init_data_dir:
 *
 * Writes a cluster config with @n_nodes embedded nodes. Refuses with %TSR_ERROR_EXISTS when
 * the data dir already has one: changing the chunk size or node set under stored files is not
 * something to do by accident.
 */
gboolean
tsr_cluster_init_data_dir (const char *data_dir, guint n_nodes, guint64 capacity,
                           guint32 chunk_size, guint replicas, GError **error)
{
  g_autofree char *path = g_build_filename (data_dir, "cluster.json", NULL);
  g_autoptr (TsrClusterConfig) config = NULL;

  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_EXISTS,
                   _ ("%s already holds a cluster; use another --data-dir for a new one"),
                   data_dir);
      return FALSE;
    }
  if (!tsr_chunk_size_is_valid (chunk_size))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
                   _ ("The chunk size must be between 4 KiB and 16 MiB"));
      return FALSE;
    }
  if (n_nodes > TSR_CLUSTER_MAX_NODES || replicas == 0 || (n_nodes > 0 && replicas > n_nodes))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
                   _ ("Need 1 to %u replicas, no more than the %u nodes"), TSR_CLUSTER_MAX_NODES,
                   n_nodes);
      return FALSE;
    }
  if (g_mkdir_with_parents (data_dir, 0700) != 0)
    {
      tsr_set_error_from_errno (error, errno, _ ("Cannot create %s"), data_dir);
      return FALSE;
    }
  config = tsr_cluster_config_new_default (n_nodes, capacity, chunk_size, replicas);
  return tsr_cluster_config_save (config, path, error);
}

/**
 * tsr_cluster_open:
 * @data_dir: the data dir; created with the default cluster (5 embedded nodes of 10 GB, 64 KiB
 *   chunks, 2 replicas) when empty
 *
 * Takes the data dir's lock (a second process gets %TSR_ERROR_BUSY naming the owner's PID),
 * loads the config, this client's identity and the master key. Nodes start with
 * tsr_cluster_start().
 */
TsrCluster *
tsr_cluster_open (const char *data_dir, GError **error)
{
  g_autoptr (TsrCluster) self = NULL;
  g_autofree char *lock_path = NULL;
  g_autofree char *what = NULL;
  g_autofree char *client_dir = NULL;
  g_autofree char *key_path = NULL;
  g_autoptr (GError) local_error = NULL;

  g_return_val_if_fail (data_dir != NULL, NULL);

  if (!tsr_crypto_init (error))
    return NULL;
  if (g_mkdir_with_parents (data_dir, 0700) != 0)
    {
      tsr_set_error_from_errno (error, errno, _ ("Cannot create data dir %s"), data_dir);
      return NULL;
    }

  self = g_object_new (TSR_TYPE_CLUSTER, NULL);
  self->data_dir = g_strdup (data_dir);
  self->catalog_dir = g_build_filename (data_dir, "catalog", NULL);
  self->config_path = g_build_filename (data_dir, "cluster.json", NULL);

  lock_path = g_build_filename (data_dir, "lock", NULL);
  what = g_strdup_printf ("data dir %s", data_dir);
  self->lock_file = tsr_lock_file_acquire (lock_path, what, error);
  if (self->lock_file == NULL)
    return NULL;

  self->config = tsr_cluster_config_load (self->config_path, &local_error);
  if (self->config == NULL)
    {
      if (!g_error_matches (local_error, TSR_ERROR, TSR_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
      self->config = tsr_cluster_config_new_default (
          TSR_CLUSTER_DEFAULT_NODES, TSR_SEGMENT_STORE_DEFAULT_CAPACITY, TSR_CHUNK_SIZE_DEFAULT,
          TSR_CLUSTER_DEFAULT_REPLICAS);
      if (!tsr_cluster_config_save (self->config, self->config_path, error))
        return NULL;
    }

  if (g_mkdir_with_parents (self->catalog_dir, 0700) != 0)
    {
      tsr_set_error_from_errno (error, errno, _ ("Cannot create %s"), self->catalog_dir);
      return NULL;
    }
  client_dir = g_build_filename (data_dir, "client", NULL);
  self->identity = tsr_identity_load_or_create (client_dir, "tessera-client", error);
  if (self->identity == NULL)
    return NULL;
  key_path = g_build_filename (data_dir, "keys", "master.key", NULL);
  self->master_key = tsr_key_load_or_create (key_path, error);
  if (self->master_key == NULL)
    return NULL;

  return g_steal_pointer (&self);
}

static char *
member_address (Member *m)
{
  return g_strdup_printf ("%s:%u", m->config->host, m->config->port);
}

/* $TESSERA_SCRUB_RATE (bytes per second, 0 for off) overrides the nodes' background scrub
 * budget: tests that count corrupt copies turn it off. */
static void
set_scrub_rate (TsrNode *node)
{
  const char *env = g_getenv ("TESSERA_SCRUB_RATE");
  guint64 rate;

  if (env != NULL && tsr_parse_size (env, &rate))
    tsr_node_set_scrub_rate (node, rate);
}

static gboolean
start_embedded (TsrCluster *self, Member *m, GError **error)
{
  g_autofree char *dir = member_dir (self, m);
  g_autoptr (TsrIdentity) identity = NULL;
  g_autoptr (TsrTrustStore) trusted = tsr_trust_store_new ();
  g_autoptr (GError) local_error = NULL;
  const char *id;

  identity = tsr_identity_load_or_create (dir, m->config->node_id, error);
  if (identity == NULL)
    return FALSE;
  id = tsr_identity_get_id (identity);
  if (m->config->identity != NULL && strcmp (m->config->identity, id) != 0)
    g_message ("%s has a new identity %s (was %s)", m->config->node_id, id, m->config->identity);
  g_free (m->config->identity);
  m->config->identity = g_strdup (id);

  if (m->store == NULL)
    {
      m->store = tsr_segment_store_open (dir, m->config->capacity, error);
      if (m->store == NULL)
        return FALSE;
      note_disk (self, m, dir);
    }
  if (!tsr_trust_store_add (trusted, tsr_identity_get_id (self->identity), "this client", error))
    return FALSE;

  m->node = tsr_node_new (m->config->node_id, m->store, identity, trusted);
  set_scrub_rate (m->node);
  if (!tsr_node_start (m->node, m->config->host, m->config->port, &local_error))
    {
      /* The remembered port is taken by someone else: take any free one. */
      if (m->config->port != 0 && g_error_matches (local_error, TSR_ERROR, TSR_ERROR_BUSY))
        {
          g_clear_error (&local_error);
          m->config->port = 0;
          g_clear_object (&m->node);
          m->node = tsr_node_new (m->config->node_id, m->store, identity, trusted);
          set_scrub_rate (m->node);
          if (tsr_node_start (m->node, m->config->host, 0, &local_error))
            goto started;
        }
      g_propagate_error (error, g_steal_pointer (&local_error));
      g_clear_object (&m->node);
      return FALSE;
    }
started:
  m->config->port = tsr_node_get_port (m->node);
  return TRUE;
}

static void
make_client (TsrCluster *self, Member *m)
{
  g_autofree char *address = member_address (m);
  TsrNodeClient *client;

  client = tsr_node_client_new (m->config->node_id, address, m->config->identity, self->identity);
  tsr_node_client_set_netem_link (client, m->link);
  g_mutex_lock (&self->lock);
  g_clear_object (&m->client);
  m->client = client;
  g_mutex_unlock (&self->lock);
}

/* Worker threads take their own reference: a node disabled meanwhile drops the member's. */
static TsrNodeClient *
member_dup_client (TsrCluster *self, Member *m)
{
  TsrNodeClient *client;

  g_mutex_lock (&self->lock);
  client = m->client;
  if (client != NULL)
    g_object_ref (client);
  g_mutex_unlock (&self->lock);
  return client;
}

/* Counts a running operation; tsr_cluster_stop() waits until none is left. */
static void
begin_op (TsrCluster *self)
{
  g_mutex_lock (&self->lock);
  self->active++;
  g_mutex_unlock (&self->lock);
}

/* begin_op() unless the cluster was stopped: tsr_cluster_stop() clears the flag before it waits
 * for running operations, and clears the members after. */
static gboolean
begin_op_if_started (TsrCluster *self, GError **error)
{
  gboolean started;

  g_mutex_lock (&self->lock);
  started = self->started;
  if (started)
    self->active++;
  g_mutex_unlock (&self->lock);
  if (!started)
    g_set_error (error, TSR_ERROR, TSR_ERROR_STOPPED, _ ("The cluster is not started"));
  return started;
}

static void
end_op (TsrCluster *self)
{
  g_mutex_lock (&self->lock);
  if (--self->active == 0)
    g_cond_broadcast (&self->idle_cond);
  g_mutex_unlock (&self->lock);
}

static void
introduce_peers (TsrCluster *self)
{
  for (guint i = 0; i < self->members->len; i++)
    {
      Member *m = self->members->pdata[i];
      if (m->node == NULL)
        continue;
      for (guint j = 0; j < self->members->len; j++)
        {
          Member *p = self->members->pdata[j];
          g_autofree char *address = member_address (p);
          if (p != m && p->config->identity != NULL)
            tsr_node_add_peer (m->node, p->config->node_id, address, p->config->identity);
        }
    }
}

/* A node store that had to recount itself was not closed cleanly: the process died, maybe in
 * the middle of an upload, delete or repair, leaving copies no manifest lists. This process
 * owns the data dir and has nothing in flight yet, so they can be collected at once. */
static void
collect_after_crash (TsrCluster *self)
{
  g_autoptr (GError) error = NULL;
  gboolean crashed = FALSE;
  TsrGcReport gc;

  for (guint i = 0; i < self->members->len; i++)
    {
      Member *m = self->members->pdata[i];
      crashed |= m->store != NULL && tsr_segment_store_was_rebuilt (m->store);
    }
  if (!crashed)
    return;
  if (!tsr_cluster_gc (self, 0, NULL, &gc, &error))
    g_message ("After an unclean shutdown: %s", error->message);
  else if (gc.orphans > 0 || gc.temp_files > 0)
    g_message ("After an unclean shutdown, collected %" G_GUINT64_FORMAT
               " orphaned copies and %" G_GUINT64_FORMAT " half-written manifests",
               gc.orphans, gc.temp_files);
}

/**
 * tsr_cluster_start:
 *
 * Starts the enabled embedded nodes (each a thread serving TLS on its address), connects to
 * every enabled node and runs a first health check. An embedded node that cannot start stays
 * down, its reason in its status's problem.
 */
gboolean
tsr_cluster_start (TsrCluster *self, GError **error)
{
  g_autoptr (GError) local_error = NULL;

  g_return_val_if_fail (TSR_IS_CLUSTER (self), FALSE);

  if (self->started)
    return TRUE;

  for (guint i = 0; i < self->config->nodes->len; i++)
    {
      Member *m = g_new0 (Member, 1);
      m->config = self->config->nodes->pdata[i];
      m->status.node_id = g_strdup (m->config->node_id);
      m->status.state = TSR_NODE_STATE_STOPPED;
      m->status.capacity_bytes = m->config->capacity;
      m->status.disk_free_bytes = G_MAXUINT64;
      m->link = tsr_netem_add_link (self->netem, m->config->node_id, &m->config->netem);
      g_ptr_array_add (self->members, m);

      if (m->config->enabled && m->config->embedded && !start_embedded (self, m, &local_error))
        {
          /* Another process holding the data dir stops everything. A node that cannot start
           * (a damaged identity, a store it cannot open) stays down, as if its machine were
           * off, and says why: the others still serve every file with a copy on them. */
          if (g_error_matches (local_error, TSR_ERROR, TSR_ERROR_BUSY))
            {
              g_propagate_error (error, g_steal_pointer (&local_error));
              return FALSE;
            }
          set_problem (self, m, g_strdup (local_error->message));
          g_clear_error (&local_error);
          continue;
        }
      if (m->config->enabled && m->config->identity != NULL)
        make_client (self, m);
      else if (!m->config->enabled && m->config->embedded)
        peek_usage (self, m);
    }
  if (!tsr_cluster_config_save (self->config, self->config_path, error))
    return FALSE;
  introduce_peers (self);
  self->started = TRUE;
  /* Periodic checks fire only while the owner's main loop runs (the app, the shell); a
   * one-shot command relies on the check just below. */
  tsr_cluster_set_health_interval (self, TSR_CLUSTER_HEALTH_INTERVAL);
  tsr_cluster_set_maintenance_interval (self, TSR_CLUSTER_MAINTENANCE_INTERVAL);
  if (!tsr_cluster_check_health (self, NULL, error))
    return FALSE;
  collect_after_crash (self);
  return TRUE;
}

/* Stops the embedded nodes and closes their stores; files stay on disk. Waits for running
 * transfers and health checks to finish first. */
void
tsr_cluster_stop (TsrCluster *self)
{
  g_return_if_fail (TSR_IS_CLUSTER (self));

  if (self->health_source != 0)
    {
      g_source_remove (self->health_source);
      self->health_source = 0;
    }
  /* Cleared first: background maintenance counts itself as running and then checks this, so
   * it either finishes before the members go or does not start. */
  g_mutex_lock (&self->lock);
  self->started = FALSE;
  while (self->active > 0)
    g_cond_wait (&self->idle_cond, &self->lock);
  g_mutex_unlock (&self->lock);
  g_ptr_array_set_size (self->members, 0);
}

/* The key that seals file keys: the user's data key once a user is set. */
static const TsrKey *
kek (TsrCluster *self)
{
  return self->user_key != NULL ? self->user_key : self->master_key;
}

/**
 * tsr_cluster_set_user:
 * @username: who is logged in
 * @data_key: their data key (copied), unwrapped with their password
 *
 * From now on the catalog is DATA_DIR/users/USERNAME/catalog and file keys are sealed with
 * @data_key: nobody lists, downloads or deletes another user's files. Call before any transfer.
 */
gboolean
tsr_cluster_set_user (TsrCluster *self, const char *username, const TsrKey *data_key,
                      GError **error)
{
  g_autofree char *dir = NULL;

  g_return_val_if_fail (TSR_IS_CLUSTER (self), FALSE);
  g_return_val_if_fail (username != NULL && strchr (username, '/') == NULL && data_key != NULL,
                        FALSE);

  dir = g_build_filename (self->data_dir, "users", username, "catalog", NULL);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      tsr_set_error_from_errno (error, errno, _ ("Cannot create %s"), dir);
      return FALSE;
    }
  g_free (self->catalog_dir);
  self->catalog_dir = g_steal_pointer (&dir);
  g_free (self->user);
  self->user = g_strdup (username);
  g_clear_pointer (&self->user_key, tsr_key_free);
  self->user_key = tsr_key_new_from_bytes (data_key->bytes, TSR_KEY_LEN, NULL);
  return TRUE;
}

const char *
tsr_cluster_get_data_dir (TsrCluster *self)
{
  g_return_val_if_fail (TSR_IS_CLUSTER (self), NULL);
  return self->data_dir;
}

const TsrClusterConfig *
tsr_cluster_get_config (TsrCluster *self)
{
  g_return_val_if_fail (TSR_IS_CLUSTER (self), NULL);
  return self->config;
}

static Member *
find_member (TsrCluster *self, const char *node_id)
{
  for (guint i = 0; i < self->members->len; i++)
    {
      Member *m = self->members->pdata[i];
      if (g_strcmp0 (m->config->node_id, node_id) == 0)
        return m;
    }
  return NULL;
}

static guint
member_index (TsrCluster *self, Member *m)
{
  guint idx = 0;

  g_ptr_array_find (self->members, m, &idx);
  return idx;
}

TsrNode *
tsr_cluster_get_embedded_node (TsrCluster *self, const char *node_id)
{
  Member *m;

  g_return_val_if_fail (TSR_IS_CLUSTER (self), NULL);
  m = find_member (self, node_id);
  return m ? m->node : NULL;
}

/* ---- health ---- */

/**
 * tsr_cluster_dup_node_status:
 *
 * Returns: (transfer full) (element-type TsrNodeStatus): what the last health check found, in
 * config order
 */
GPtrArray *
tsr_cluster_dup_node_status (TsrCluster *self)
{
  GPtrArray *ret = g_ptr_array_new_with_free_func ((GDestroyNotify)tsr_node_status_free);

  g_return_val_if_fail (TSR_IS_CLUSTER (self), ret);
  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->members->len; i++)
    {
      Member *m = self->members->pdata[i];
      TsrNodeStatus *s = g_memdup2 (&m->status, sizeof m->status);
      s->node_id = g_strdup (m->status.node_id);
      s->address = member_address (m);
      s->embedded = m->config->embedded;
      s->enabled = m->config->enabled;
      s->virtual_address = g_strdup (tsr_netem_link_get_virtual_address (m->link));
      s->problem = g_strdup (m->status.problem);
      tsr_netem_link_get_settings (m->link, &s->netem);
      tsr_netem_link_get_stats (m->link, &s->link);
      g_ptr_array_add (ret, s);
    }
  g_mutex_unlock (&self->lock);
  return ret;
}

/**
 * tsr_cluster_check_health:
 *
 * The seed's broadcast_health_check: asks every enabled node for its health and updates the
 * node states, emitting node-state-changed for each change and then statistics-changed.
 * A node that does not answer is STOPPED. Only fails when cancelled.
 */
gboolean
tsr_cluster_check_health (TsrCluster *self, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (TSR_IS_CLUSTER (self), FALSE);

  begin_op (self);
  for (guint i = 0; i < self->members->len; i++)
    {
      Member *m = self->members->pdata[i];
      g_autoptr (TsrNodeClient) client = member_dup_client (self, m);
      g_autoptr (TsrNodeHealth) h = NULL;
      g_autoptr (GError) local_error = NULL;
      TsrNodeState before;

      if (client != NULL)
        {
          /* A short deadline and no retries, for this call only: transfers sharing the
           * client keep theirs. */
          h = tsr_node_client_health_check_full (client, HEALTH_TIMEOUT_MS, 0, cancellable,
                                                 &local_error);
          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            {
              end_op (self);
              return FALSE;
            }
        }

      g_mutex_lock (&self->lock);
      before = m->status.state;
      if (h != NULL)
        {
          m->status.state = h->state;
          m->status.alive = h->is_alive;
          m->status.used_bytes = h->used_bytes;
          m->status.capacity_bytes = h->capacity_bytes;
          m->status.disk_free_bytes = h->disk_free_bytes;
          m->status.segment_count = h->segment_count;
          m->status.latency_ms = h->latency_ms;
          m->status.uptime_seconds = h->uptime_seconds;
          m->status.stats = h->stats;
        }
      else
        {
          m->status.state = TSR_NODE_STATE_STOPPED;
          m->status.alive = FALSE;
          m->status.latency_ms = 0;
          m->status.uptime_seconds = 0;
          /* Embedded stores can still be read for usage while their node is stopped. */
          if (m->store != NULL)
            {
              m->status.used_bytes = tsr_segment_store_get_used (m->store);
              m->status.segment_count = tsr_segment_store_get_segment_count (m->store);
            }
        }
      g_mutex_unlock (&self->lock);
      if (before != m->status.state)
        emit (self, SIGNAL_NODE_STATE_CHANGED, m->config->node_id, m->status.state, 0, 0, 0);
    }
  emit (self, SIGNAL_STATISTICS_CHANGED, NULL, 0, 0, 0, 0);
  end_op (self);
  return TRUE;
}

static void pool_push_health (TsrCluster *self);

/* The check runs on the I/O pool, counted as an operation from now on, so that stop waits
 * for it and no reference outlives the cluster's owner. */
static gboolean
on_health_timer (gpointer data)
{
  TsrCluster *self = data;

  begin_op (self);
  pool_push_health (self);
  return G_SOURCE_CONTINUE;
}

/* Health checks every @seconds on the owner's context, run on a worker thread; 0 stops them. */
void
tsr_cluster_set_health_interval (TsrCluster *self, guint seconds)
{
  g_return_if_fail (TSR_IS_CLUSTER (self));

  if (self->health_source != 0)
    g_source_remove (self->health_source);
  self->health_source = 0;
  if (seconds > 0)
    {
      GSource *source = g_timeout_source_new_seconds (seconds);
      g_source_set_callback (source, on_health_timer, self, NULL);
      self->health_source = g_source_attach (source, self->owner_context);
      g_source_unref (source);
    }
}

/**
 * tsr_cluster_set_node_enabled:
 *
 * Takes a node out of service (an embedded one is stopped and not started while disabled) or
 * back in. Persisted in the cluster config.
 */
gboolean
tsr_cluster_set_node_enabled (TsrCluster *self, const char *node_id, gboolean enabled,
                              GError **error)
{
  g_autoptr (GError) local_error = NULL;
  gboolean retry;
  Member *m;

  g_return_val_if_fail (TSR_IS_CLUSTER (self), FALSE);

  m = find_member (self, node_id);
  if (m == NULL)
    {
      TsrNodeConfig *c = tsr_cluster_config_find (self->config, node_id);
      if (c == NULL)
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND, _ ("There is no node %s"), node_id);
          return FALSE;
        }
      c->enabled = enabled; /* not started: just remember it */
      return tsr_cluster_config_save (self->config, self->config_path, error);
    }
  /* Enabling an embedded node that could not start tries again (its identity restored). */
  retry = enabled && m->config->enabled && m->config->embedded && m->node == NULL;
  if (m->config->enabled == enabled && !retry)
    return TRUE;

  m->config->enabled = enabled;
  if (!enabled)
    {
      TsrNodeClient *client;

      g_mutex_lock (&self->lock);
      client = g_steal_pointer (&m->client);
      g_mutex_unlock (&self->lock);
      set_problem (self, m, NULL); /* down because it was asked to be */
      g_clear_object (&client);
      if (m->node != NULL)
        tsr_node_stop (m->node);
      g_clear_object (&m->node);
    }
  else
    {
      if (m->config->embedded && !start_embedded (self, m, &local_error))
        {
          if (retry)
            set_problem (self, m, g_strdup (local_error->message));
          else
            m->config->enabled = FALSE;
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      set_problem (self, m, NULL);
      make_client (self, m);
      introduce_peers (self);
    }
  if (!tsr_cluster_config_save (self->config, self->config_path, error))
    return FALSE;
  return tsr_cluster_check_health (self, NULL, error);
}

/**
 * tsr_cluster_add_remote_node:
 * @node_id: the name the cluster knows it by (letters, digits, '_', '-', '.')
 * @identity: the node's id (`tesserad --print-id`), pinned: a node presenting any other
 *   certificate at @host:@port is refused
 * @capacity: what placement assumes until the first health check reports the real one
 *
 * Adds a node served elsewhere (tesserad) and saves the config. Placement and health checks
 * treat it like an embedded one from then on; a started cluster connects to it at once.
 */
gboolean
tsr_cluster_add_remote_node (TsrCluster *self, const char *node_id, const char *host, guint16 port,
                             const char *identity, guint64 capacity, GError **error)
{
  TsrNodeConfig *c;

  g_return_val_if_fail (TSR_IS_CLUSTER (self), FALSE);

  if (!tsr_cluster_node_id_is_valid (node_id) || host == NULL || *host == '\0' ||
      strlen (host) > 255 || port == 0 || !tsr_segment_id_is_valid (identity))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
                   _ ("A node needs a name of letters, digits, '_', '-' or '.', a host, a port and "
                      "an id of 64 lowercase hex characters"));
      return FALSE;
    }
  /* Transfers, health checks and maintenance walk the members and the config without the
   * lock: change them only when none runs (new ones wait on the lock meanwhile). */
  g_mutex_lock (&self->lock);
  while (self->active > 0)
    g_cond_wait (&self->idle_cond, &self->lock);
  if (tsr_cluster_config_find (self->config, node_id) != NULL)
    {
      g_mutex_unlock (&self->lock);
      g_set_error (error, TSR_ERROR, TSR_ERROR_EXISTS, _ ("There is already a node %s"), node_id);
      return FALSE;
    }
  if (self->config->nodes->len >= TSR_CLUSTER_MAX_NODES)
    {
      g_mutex_unlock (&self->lock);
      g_set_error (error, TSR_ERROR, TSR_ERROR_TOO_LARGE, _ ("A cluster has at most %u nodes"),
                   TSR_CLUSTER_MAX_NODES);
      return FALSE;
    }
  c = g_new0 (TsrNodeConfig, 1);
  c->node_id = g_strdup (node_id);
  c->host = g_strdup (host);
  c->port = port;
  c->identity = g_strdup (identity);
  c->capacity = capacity;
  c->enabled = TRUE;
  tsr_netem_settings_init_off (&c->netem);
  g_ptr_array_add (self->config->nodes, c);
  if (!tsr_cluster_config_save (self->config, self->config_path, error))
    {
      g_ptr_array_remove (self->config->nodes, c);
      g_mutex_unlock (&self->lock);
      return FALSE;
    }
  if (self->started)
    {
      Member *m = g_new0 (Member, 1);

      m->config = c;
      m->status.node_id = g_strdup (c->node_id);
      m->status.state = TSR_NODE_STATE_STOPPED;
      m->status.capacity_bytes = c->capacity;
      m->status.disk_free_bytes = G_MAXUINT64;
      m->link = tsr_netem_add_link (self->netem, c->node_id, &c->netem);
      g_ptr_array_add (self->members, m);
      g_mutex_unlock (&self->lock);
      make_client (self, m);
      introduce_peers (self);
      return tsr_cluster_check_health (self, NULL, error);
    }
  g_mutex_unlock (&self->lock);
  return TRUE;
}

/* ---- the catalog ---- */

static char *
manifest_path (TsrCluster *self, const char *file_id)
{
  g_autofree char *name = g_strconcat (file_id, ".json", NULL);
  return g_build_filename (self->catalog_dir, name, NULL);
}

TsrManifest *
tsr_cluster_get_file (TsrCluster *self, const char *file_id, GError **error)
{
  g_autofree char *path = NULL;
  g_autoptr (GError) local_error = NULL;
  TsrManifest *m;

  g_return_val_if_fail (TSR_IS_CLUSTER (self), NULL);

  if (!tsr_file_id_is_valid (file_id))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
                   _ ("“%s” is not a file id (16 lowercase hex characters)"), file_id);
      return NULL;
    }
  path = manifest_path (self, file_id);
  m = tsr_manifest_load (path, &local_error);
  if (m == NULL && g_error_matches (local_error, TSR_ERROR, TSR_ERROR_NOT_FOUND))
    g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND, _ ("There is no file %s"), file_id);
  else if (m == NULL)
    g_propagate_error (error, g_steal_pointer (&local_error));
  return m;
}

static gint
compare_manifests (gconstpointer a, gconstpointer b)
{
  const TsrManifest *ma = *(TsrManifest *const *)a, *mb = *(TsrManifest *const *)b;

  if (ma->created_at != mb->created_at)
    return ma->created_at < mb->created_at ? -1 : 1;
  return g_strcmp0 (ma->name, mb->name);
}

static GPtrArray *
list_files (TsrCluster *self, TsrManifest *(*load) (const char *, GError **), GError **error)
{
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func ((GDestroyNotify)tsr_manifest_free);
  g_autoptr (GDir) dir = NULL;
  const char *name;

  dir = g_dir_open (self->catalog_dir, 0, error);
  if (dir == NULL)
    return NULL;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = NULL;
      g_autoptr (GError) local_error = NULL;
      TsrManifest *m;

      if (!g_str_has_suffix (name, ".json") || strlen (name) != TSR_FILE_ID_LEN + 5)
        continue;
      path = g_build_filename (self->catalog_dir, name, NULL);
      m = load (path, &local_error);
      if (m == NULL)
        g_message ("Skipping a damaged manifest: %s", local_error->message);
      else
        g_ptr_array_add (files, m);
    }
  g_ptr_array_sort (files, compare_manifests);
  return g_steal_pointer (&files);
}

/**
 * tsr_cluster_list_files:
 *
 * Returns: (transfer full) (element-type TsrManifest): every file, oldest first. A damaged
 * manifest is skipped with a message, never deleted.
 */
GPtrArray *
tsr_cluster_list_files (TsrCluster *self, GError **error)
{
  g_return_val_if_fail (TSR_IS_CLUSTER (self), NULL);
  return list_files (self, tsr_manifest_load, error);
}

/**
 * tsr_cluster_list_file_summaries:
 *
 * As tsr_cluster_list_files(), but each file's summary (tsr_manifest_load_summary()): its
 * header and where its chunks are, without the chunks. What listing files needs, in a few
 * hundred bytes a file instead of ~4.6 MB per GiB of 64 KiB chunks.
 *
 * Returns: (transfer full) (element-type TsrManifest): every file, oldest first
 */
GPtrArray *
tsr_cluster_list_file_summaries (TsrCluster *self, GError **error)
{
  g_return_val_if_fail (TSR_IS_CLUSTER (self), NULL);
  return list_files (self, tsr_manifest_load_summary, error);
}

/* ---- shared by transfers ---- */

typedef struct
{
  TsrCluster *self;
  char *name;
  GMutex mutex;
  GCond cond;
  guint waiters; /* threads in transfer_wait(): a GCond wakes with a syscall even for none */
  guint in_flight;
  GError *error;             /* the first failure; later ones are dropped */
  GCancellable *cancellable; /* cancelled on the first failure too */
  GCancellable *caller;      /* the caller's, named in transfer-progress */
  guint64 done, total;
  gint64 started, last_emit;
} Transfer;

static void
transfer_init (Transfer *t, TsrCluster *self, const char *name, guint64 total,
               GCancellable *cancellable)
{
  t->self = self;
  t->name = g_strdup (name);
  g_mutex_init (&t->mutex);
  g_cond_init (&t->cond);
  t->total = total;
  t->cancellable = g_cancellable_new ();
  t->caller = cancellable != NULL ? g_object_ref (cancellable) : NULL;
  if (cancellable != NULL)
    g_signal_connect_object (cancellable, "cancelled", G_CALLBACK (g_cancellable_cancel),
                             t->cancellable, G_CONNECT_SWAPPED);
  if (g_cancellable_is_cancelled (cancellable))
    g_cancellable_cancel (t->cancellable);
  t->started = t->last_emit = g_get_monotonic_time ();
}

static void
transfer_clear (Transfer *t)
{
  g_free (t->name);
  g_mutex_clear (&t->mutex);
  g_cond_clear (&t->cond);
  g_clear_error (&t->error);
  g_clear_object (&t->cancellable);
  g_clear_object (&t->caller);
}

/* Records the first error and stops the rest of the transfer. */
static void
transfer_fail (Transfer *t, GError *error)
{
  g_mutex_lock (&t->mutex);
  if (t->error == NULL)
    t->error = error;
  else
    g_error_free (error);
  g_mutex_unlock (&t->mutex);
  g_cancellable_cancel (t->cancellable);
}

static void
transfer_progress (Transfer *t, guint64 add, gboolean force)
{
  gint64 now = g_get_monotonic_time ();
  guint64 done, total;
  gboolean send = FALSE;
  double rate;

  g_mutex_lock (&t->mutex);
  t->done += add;
  if (force || now - t->last_emit >= PROGRESS_INTERVAL_US)
    {
      t->last_emit = now;
      send = TRUE;
    }
  done = t->done;
  total = t->total;
  g_mutex_unlock (&t->mutex);
  if (send)
    {
      rate = now > t->started ? done / ((now - t->started) / 1e6) : 0;
      emit_full (t->self, SIGNAL_TRANSFER_PROGRESS, t->caller, t->name, 0, done, total, rate);
    }
}

/* With t->mutex held: waits for transfer_wake(). Every chunk passes between threads twice,
 * so waking only when someone waits saves two futex calls a chunk. */
static void
transfer_wait (Transfer *t)
{
  t->waiters++;
  g_cond_wait (&t->cond, &t->mutex);
  t->waiters--;
}

/* With t->mutex held. */
static void
transfer_wake (Transfer *t)
{
  if (t->waiters > 0)
    g_cond_broadcast (&t->cond);
}

/* Waits until fewer than @limit jobs are in flight, then counts one more. */
static void
transfer_acquire (Transfer *t, guint limit)
{
  g_mutex_lock (&t->mutex);
  while (t->in_flight >= limit)
    transfer_wait (t);
  t->in_flight++;
  g_mutex_unlock (&t->mutex);
}

/* With t->mutex held. */
static void
transfer_release_locked (Transfer *t)
{
  t->in_flight--;
  transfer_wake (t);
}

static void
transfer_release (Transfer *t)
{
  g_mutex_lock (&t->mutex);
  transfer_release_locked (t);
  g_mutex_unlock (&t->mutex);
}

static void
transfer_wait_idle (Transfer *t)
{
  transfer_acquire (t, 1);
  transfer_release (t);
}

/* Whether a store failure means "try the next node" rather than "the upload failed". */
static gboolean
is_node_problem (const GError *error)
{
  return g_error_matches (error, TSR_ERROR, TSR_ERROR_NO_SPACE) ||
         g_error_matches (error, TSR_ERROR, TSR_ERROR_UNREACHABLE) ||
         g_error_matches (error, TSR_ERROR, TSR_ERROR_CLOSED) ||
         g_error_matches (error, TSR_ERROR, TSR_ERROR_TIMEOUT) ||
         g_error_matches (error, TSR_ERROR, TSR_ERROR_IO) ||
         g_error_matches (error, TSR_ERROR, TSR_ERROR_STOPPED) ||
         g_error_matches (error, TSR_ERROR, TSR_ERROR_IDENTITY);
}

/* Pipelining several requests from one thread (STORE_GROUP, FETCH_GROUP) suits real
 * connections. A call over an active emulated link is made whole by the thread that ends it,
 * one at a time: with any link active, a transfer goes one chunk per pool job, as many jobs
 * in parallel as its window allows, so that the emulated links are kept as busy as before. */
static guint
transfer_group_size (TsrCluster *self, guint group)
{
  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->members->len; i++)
    {
      Member *m = self->members->pdata[i];
      if (m->link != NULL && tsr_netem_link_is_active (m->link))
        group = 1;
    }
  g_mutex_unlock (&self->lock);
  return group;
}

/* A transfer keeps at most this many bytes of chunks in flight, and at most max_chunks
 * chunks: 64 (uploads) or 128 (downloads) chunks of 64 KiB, the windows' own limits; 8 of
 * 1 MiB; 2 of 16 MiB. Counting
 * chunks alone, 16 MiB chunks took an upload to 560 MB of memory and a download to 640 MB;
 * now 200 and 140 MB. */
#define TRANSFER_WINDOW_BYTES ((gsize)8 * 1024 * 1024)

/* Sizes a transfer's window for chunks of @chunk_size: *@group chunks per pool job (at most
 * @group, fewer on an emulated link or when the window is small) and *@jobs jobs in flight,
 * at least two so that one is fetched or stored while the other is handled. */
static void
transfer_window (TsrCluster *self, gsize chunk_size, guint max_chunks, guint *group, guint *jobs)
{
  guint chunks = (guint)CLAMP (TRANSFER_WINDOW_BYTES / MAX (chunk_size, 1), 2, max_chunks);

  *group = MAX (1, MIN (transfer_group_size (self, *group), chunks / 2));
  *jobs = chunks / *group;
}

/* ---- upload ---- */

typedef struct
{
  Transfer t;
  guint n_members;
  gboolean *down; /* per member, under t.mutex: disabled, down or failing during this upload */
  gboolean *full; /* per member, under t.mutex: refused a store for lack of space */
  gboolean *used; /* per member, under t.mutex: received segments, so needs a sync */
  guint replicas;
  guint group;      /* chunks per pool job: up to STORE_GROUP (see transfer_window()) */
  guint jobs;       /* pool jobs in flight at most */
  guint64 need;     /* stored bytes the whole upload needs, for messages */
  guint64 hot_from; /* the first chunk whose first copy stays in the nodes' page cache */
} Upload;

/* A pool job stores this many consecutive chunks: each node gets one StoreSegments with the
 * copies that go to it (about 6 of 64 KiB with 5 nodes and 2 copies), all sent at once, and
 * the answers are taken in order (see FETCH_GROUP). Four alternating pairs of 1 GiB uploads:
 * 7.4-8.7 s with one StoreSegment per copy (groups of 8, window 32), 6.1-7.2 s with groups of
 * 16 in a window of 64; groups of 32 were no faster. */
#define STORE_GROUP 16
G_STATIC_ASSERT (TSR_CLUSTER_UPLOAD_WINDOW % STORE_GROUP == 0);
/* A node takes at most one copy of a chunk, so at most a group's worth in one request. */
G_STATIC_ASSERT (STORE_GROUP <= TSR_NODE_STORE_BATCH_MAX);

/* The most a pool job asks of one node in one request (see FETCH_GROUP too). */
#define JOB_BATCH_MAX 32
G_STATIC_ASSERT (STORE_GROUP <= JOB_BATCH_MAX);

/* What a pool job stores on or fetches from one node: sent in one StoreSegments or
 * RetrieveSegments. */
typedef struct
{
  Member *member;
  TsrNodeClient *client; /* until the request is sent */
  TsrNodeCall *call;
  guint n;
  guint items[JOB_BATCH_MAX]; /* as the job numbers them: a copy's slot, a chunk's offset */
} NodeBatch;

/* The batch for @member among the @n_batches in @batches, added with @client when there is
 * none yet (otherwise @client, a second reference to the same client, is dropped). */
static NodeBatch *
node_batch_for (NodeBatch *batches, guint *n_batches, Member *member, TsrNodeClient *client)
{
  guint b;

  for (b = 0; b < *n_batches && batches[b].member != member; b++)
    ;
  if (b == *n_batches)
    batches[(*n_batches)++] = (NodeBatch){ .member = member, .client = client };
  else
    g_object_unref (client);
  return &batches[b];
}

typedef struct
{
  TsrManifestChunk *chunk;
  GBytes *data;
  gsize plain_len;
} StoreChunk;

typedef struct
{
  Upload *up;
  guint count;
  StoreChunk chunks[STORE_GROUP];
} StoreJob;

static gboolean
chunk_has_copy_on (TsrManifestChunk *chunk, const char *node_id)
{
  for (guint i = 0; i < chunk->nodes->len; i++)
    if (strcmp (chunk->nodes->pdata[i], node_id) == 0)
      return TRUE;
  return FALSE;
}

/* Whether member @idx is to be skipped for the rest of this upload. */
static gboolean
upload_skips (Upload *up, guint idx, gboolean *down, gboolean *full)
{
  g_mutex_lock (&up->t.mutex);
  *down = up->down[idx];
  *full = up->full[idx];
  g_mutex_unlock (&up->t.mutex);
  return *down || *full;
}

static void
record_copy (Upload *up, TsrManifestChunk *chunk, guint idx)
{
  Member *m = up->t.self->members->pdata[idx];

  g_mutex_lock (&up->t.mutex);
  g_ptr_array_add (chunk->nodes, g_strdup (m->config->node_id));
  up->used[idx] = TRUE;
  g_mutex_unlock (&up->t.mutex);
}

/* A node that failed a store is skipped from then on: full, or down. Returns whether it was
 * full. */
static gboolean
note_node_problem (Upload *up, guint idx, const GError *error)
{
  Member *m = up->t.self->members->pdata[idx];
  gboolean no_space = g_error_matches (error, TSR_ERROR, TSR_ERROR_NO_SPACE);

  g_debug ("Upload skips %s from now on: %s", m->config->node_id, error->message);
  g_mutex_lock (&up->t.mutex);
  if (no_space)
    up->full[idx] = TRUE;
  else
    up->down[idx] = TRUE;
  g_mutex_unlock (&up->t.mutex);
  return no_space;
}

/* Stores the copies of @sc still missing after @stored were made, one node after another,
 * and fails the upload when the nodes cannot hold them. */
static void
store_chunk_one_by_one (Upload *up, StoreChunk *sc, guint stored, GError *first_error)
{
  TsrCluster *self = up->t.self;
  guint n = up->n_members, n_down = 0, n_full = 0;
  g_autoptr (GError) last_error = first_error;

  /* The seed's round robin: chunk i starts at node i mod n, copies on the nodes after it,
   * skipping the ones that are down or full. */
  for (guint k = 0; k < n && stored < up->replicas; k++)
    {
      guint idx = (guint)((sc->chunk->index + k) % n);
      Member *m = self->members->pdata[idx];
      g_autoptr (TsrNodeClient) client = NULL;
      g_autoptr (GError) error = NULL;
      gboolean down, full;

      if (g_cancellable_is_cancelled (up->t.cancellable))
        break;
      if (chunk_has_copy_on (sc->chunk, m->config->node_id))
        continue;
      if (!upload_skips (up, idx, &down, &full) && (client = member_dup_client (self, m)) == NULL)
        down = TRUE;
      n_down += down;
      n_full += full;
      if (down || full)
        continue;

      /* No cancellable here: a store that was sent is allowed to finish, so that its outcome
       * is known and a cancelled upload can remove exactly what it stored. Cancelling takes
       * effect between stores. */
      if (tsr_node_client_store_segment (client, sc->chunk->segment_id, sc->data, TRUE, NULL,
                                         &error))
        {
          record_copy (up, sc->chunk, idx);
          stored++;
        }
      else if (is_node_problem (error))
        {
          gboolean no_space = note_node_problem (up, idx, error);

          n_full += no_space;
          n_down += !no_space;
          g_clear_error (&last_error);
          last_error = g_steal_pointer (&error);
        }
      else
        {
          transfer_fail (&up->t, g_steal_pointer (&error));
          return;
        }
    }

  if (stored < up->replicas && !g_cancellable_is_cancelled (up->t.cancellable))
    {
      g_autoptr (GString) msg = g_string_new (NULL);

      g_string_printf (msg,
                       _ ("Only %u of %u copies of chunk %llu could be stored: %u nodes are full "
                          "and %u are down or disabled"),
                       stored, up->replicas, (unsigned long long)sc->chunk->index, n_full, n_down);
      if (last_error != NULL)
        g_string_append_printf (msg, " (%s)", last_error->message);
      g_string_append_printf (msg, _ ("; the upload needs %llu bytes in all"),
                              (unsigned long long)up->need);
      transfer_fail (&up->t, g_error_new_literal (
                                 TSR_ERROR, n_full > 0 ? TSR_ERROR_NO_SPACE : TSR_ERROR_UNREACHABLE,
                                 msg->str));
    }
  else if (stored == up->replicas)
    transfer_progress (&up->t, sc->plain_len, FALSE);
}

#define NO_TARGET G_MAXUINT

static void
store_job_run (StoreJob *job)
{
  Upload *up = job->up;
  TsrCluster *self = up->t.self;
  guint n = up->n_members, r = up->replicas, n_slots = job->count * r, n_batches = 0;
  /* Slot c * r + j is the j-th copy of chunk c: the member it went to, and how it fared. */
  g_autofree guint *targets = g_new (guint, n_slots);
  g_autofree GError **errors = g_new0 (GError *, n_slots);
  g_autofree NodeBatch *batches = g_new0 (NodeBatch, MAX (MIN (n, n_slots), 1));

  /* Every copy to the first nodes in round-robin order that are neither down nor full, one
   * batch per node. No cancellable: see store_chunk_one_by_one(). */
  for (guint slot = 0; slot < n_slots; slot++)
    targets[slot] = NO_TARGET;
  for (guint c = 0; c < job->count && !g_cancellable_is_cancelled (up->t.cancellable); c++)
    {
      StoreChunk *sc = &job->chunks[c];

      for (guint k = 0, begun = 0; k < n && begun < r; k++)
        {
          guint idx = (guint)((sc->chunk->index + k) % n);
          Member *m = self->members->pdata[idx];
          TsrNodeClient *client;
          NodeBatch *batch;
          gboolean down, full;

          if (upload_skips (up, idx, &down, &full) ||
              (client = member_dup_client (self, m)) == NULL)
            continue;
          batch = node_batch_for (batches, &n_batches, m, client);
          targets[c * r + begun] = idx;
          batch->items[batch->n++] = c * r + begun++;
        }
    }

  /* All of them sent before any answer is awaited. */
  for (guint b = 0; b < n_batches; b++)
    {
      const char *ids[JOB_BATCH_MAX];
      GBytes *data[JOB_BATCH_MAX];
      gboolean cold[JOB_BATCH_MAX];

      for (guint j = 0; j < batches[b].n; j++)
        {
          StoreChunk *sc = &job->chunks[batches[b].items[j] / r];
          ids[j] = sc->chunk->segment_id;
          data[j] = sc->data;
          /* A download reads a chunk's first copy, so the nodes keep that one in the page
           * cache for the end of the file (see upload_cache_from()); every other copy is
           * cold. */
          cold[j] = batches[b].items[j] % r != 0 || sc->chunk->index < up->hot_from;
        }
      batches[b].call =
          tsr_node_client_store_many_begin (batches[b].client, ids, data, cold, batches[b].n, NULL);
      g_clear_object (&batches[b].client);
    }
  for (guint b = 0; b < n_batches; b++)
    {
      GError *batch_errors[JOB_BATCH_MAX];

      tsr_node_client_store_many_end (batches[b].call, batch_errors);
      for (guint j = 0; j < batches[b].n; j++)
        errors[batches[b].items[j]] = batch_errors[j];
    }

  /* The outcomes chunk by chunk; copies that failed are made one node after another. */
  for (guint c = 0; c < job->count; c++)
    {
      StoreChunk *sc = &job->chunks[c];
      g_autoptr (GError) node_error = NULL;
      gboolean fatal = FALSE;
      guint stored = 0;

      for (guint j = 0; j < r; j++)
        {
          guint slot = c * r + j;
          g_autoptr (GError) error = g_steal_pointer (&errors[slot]);

          if (targets[slot] == NO_TARGET)
            continue;
          if (error == NULL)
            {
              record_copy (up, sc->chunk, targets[slot]);
              stored++;
            }
          else if (is_node_problem (error))
            {
              note_node_problem (up, targets[slot], error);
              g_clear_error (&node_error);
              node_error = g_steal_pointer (&error);
            }
          else if (!fatal)
            {
              transfer_fail (&up->t, g_steal_pointer (&error));
              fatal = TRUE;
            }
        }
      if (stored == r)
        transfer_progress (&up->t, sc->plain_len, FALSE);
      else if (!fatal)
        store_chunk_one_by_one (up, sc, stored, g_steal_pointer (&node_error));
      g_bytes_unref (sc->data);
    }

  transfer_release (&up->t);
  g_free (job);
}

typedef struct
{
  Transfer *t;
  TsrNodeClient *client;
  char *segment_id;
} DeleteJob;

static void
delete_job_run (DeleteJob *job)
{
  g_autoptr (GError) error = NULL;

  if (!tsr_node_client_delete_segment (job->client, job->segment_id, NULL, &error) &&
      !g_error_matches (error, TSR_ERROR, TSR_ERROR_NOT_FOUND))
    {
      /* Left behind on a node that is down: garbage collection finds it later. */
      g_mutex_lock (&job->t->mutex);
      job->t->done++;
      g_mutex_unlock (&job->t->mutex);
    }
  g_object_unref (job->client);
  g_free (job->segment_id);
  transfer_release (job->t);
  g_free (job);
}

typedef enum
{
  JOB_STORE,
  JOB_FETCH,
  JOB_DELETE,
  JOB_HEALTH,
} JobKind;

typedef struct
{
  JobKind kind;
  gpointer job;
} PoolItem;

static void fetch_job_run (gpointer job);

static void
pool_run (gpointer data, gpointer user_data)
{
  PoolItem *item = data;

  tsr_priority_enter_worker ();

  switch (item->kind)
    {
      case JOB_STORE:
        store_job_run (item->job);
        break;
      case JOB_FETCH:
        fetch_job_run (item->job);
        break;
      case JOB_DELETE:
        delete_job_run (item->job);
        break;
      case JOB_HEALTH:
        tsr_cluster_check_health (item->job, NULL, NULL);
        end_op (item->job);
        break;
    }
  g_free (item);
}

static void
pool_push (TsrCluster *self, JobKind kind, gpointer job)
{
  PoolItem *item = g_new (PoolItem, 1);

  item->kind = kind;
  item->job = job;
  g_thread_pool_push (self->pool, item, NULL);
}

static void
pool_push_health (TsrCluster *self)
{
  pool_push (self, JOB_HEALTH, self);
}

/* Deletes every copy @manifest lists, in parallel, except on the members @skip marks (down:
 * their copies are left for garbage collection rather than waited for). Returns how many
 * copies could not be deleted. */
static guint
delete_segments (TsrCluster *self, TsrManifest *manifest, const gboolean *skip)
{
  Transfer t = { 0 };
  guint left;

  transfer_init (&t, self, manifest->name ? manifest->name : "delete", 0, NULL);
  for (guint i = 0; i < manifest->chunks->len; i++)
    {
      TsrManifestChunk *c = manifest->chunks->pdata[i];
      for (guint j = 0; j < c->nodes->len; j++)
        {
          Member *m = find_member (self, c->nodes->pdata[j]);
          TsrNodeClient *client = NULL;
          DeleteJob *job;

          if (m == NULL || (skip != NULL && skip[member_index (self, m)]) ||
              (client = member_dup_client (self, m)) == NULL)
            {
              t.done++;
              continue;
            }
          job = g_new0 (DeleteJob, 1);
          job->t = &t;
          job->client = client;
          job->segment_id = g_strdup (c->segment_id);
          transfer_acquire (&t, TSR_CLUSTER_UPLOAD_WINDOW);
          pool_push (self, JOB_DELETE, job);
        }
    }
  transfer_wait_idle (&t);
  left = t.done;
  transfer_clear (&t);
  return left;
}

/* One Sync per member that @which marks (all when NULL); fails with the first error, after
 * trying them all. */
static gboolean
sync_nodes (TsrCluster *self, const gboolean *which, GError **error)
{
  gboolean ok = TRUE;

  for (guint i = 0; i < self->members->len; i++)
    {
      Member *m = self->members->pdata[i];
      g_autoptr (TsrNodeClient) client = NULL;
      g_autoptr (GError) local_error = NULL;

      if (which != NULL && !which[i])
        continue;
      client = member_dup_client (self, m);
      if (client == NULL && which == NULL)
        continue;
      if (client == NULL)
        g_set_error (&local_error, TSR_ERROR, TSR_ERROR_UNREACHABLE,
                     _ ("%s was disabled before its segments were made durable"),
                     m->config->node_id);
      else if (tsr_node_client_sync (client, NULL, &local_error))
        continue;
      g_prefix_error (&local_error, _ ("Could not make the segments on %s durable: "),
                      m->config->node_id);
      if (ok && error != NULL)
        *error = g_error_copy (local_error);
      ok = FALSE;
    }
  return ok;
}

/* One Sync per node that received segments. Copies on a node whose sync fails (stopped,
 * disabled or failing meanwhile) may not be durable, so the manifest must not promise them:
 * they are dropped from it (left for garbage collection) and made again on other nodes from
 * the durable copies. Fails only when some chunk has no durable copy left. */
static gboolean
sync_uploaded (TsrCluster *self, Upload *up, TsrManifest *manifest, GError **error)
{
  g_autoptr (GError) first = NULL;
  g_autofree gboolean *failed = g_new0 (gboolean, up->n_members);
  gboolean any = FALSE;

  for (guint i = 0; i < up->n_members; i++)
    {
      Member *m = self->members->pdata[i];
      g_autoptr (TsrNodeClient) client = NULL;
      g_autoptr (GError) local_error = NULL;

      if (!up->used[i])
        continue;
      client = member_dup_client (self, m);
      if (client == NULL)
        g_set_error (&local_error, TSR_ERROR, TSR_ERROR_UNREACHABLE,
                     _ ("%s was disabled before its segments were made durable"),
                     m->config->node_id);
      else if (tsr_node_client_sync (client, NULL, &local_error))
        continue;
      g_prefix_error (&local_error, _ ("Could not make the segments on %s durable: "),
                      m->config->node_id);
      g_message ("%s; its copies of %s are made again elsewhere", local_error->message, up->t.name);
      failed[i] = TRUE;
      any = TRUE;
      if (first == NULL)
        first = g_steal_pointer (&local_error);
    }
  if (!any)
    return TRUE;
  for (guint c = 0; c < manifest->chunks->len; c++)
    {
      TsrManifestChunk *chunk = manifest->chunks->pdata[c];
      for (guint j = chunk->nodes->len; j-- > 0;)
        {
          Member *m = find_member (self, chunk->nodes->pdata[j]);
          if (m != NULL && failed[member_index (self, m)])
            g_ptr_array_remove_index (chunk->nodes, j);
        }
      if (chunk->nodes->len == 0)
        {
          g_propagate_error (error, g_steal_pointer (&first));
          return FALSE;
        }
    }
  _tsr_cluster_top_up (self, manifest, up->replicas, up->t.cancellable);
  return TRUE;
}

/* What @size bytes cost in stored bytes: every copy of every chunk, with its tag. */
static guint64
stored_size (TsrCluster *self, guint64 size)
{
  guint64 chunks = tsr_chunk_count (size, self->config->chunk_size);
  return (size + chunks * TSR_CHUNK_OVERHEAD) * self->config->replicas;
}

/* The memory this process may use: the machine's, or less where its cgroup (a container, a
 * systemd unit with MemoryMax=) is limited to less; the page cache a process fills is charged
 * to its cgroup. cgroup v2 names it on the line "0::/PATH" of /proc/self/cgroup and v1 on the
 * memory controller's line; the limit is a number of bytes, or "max" (v1: a huge number). */
static guint64
usable_memory (void)
{
  guint64 memory =
      (guint64)MAX (sysconf (_SC_PHYS_PAGES), 0) * (guint64)MAX (sysconf (_SC_PAGESIZE), 0);
  g_autofree char *cgroups = NULL;
  g_auto (GStrv) lines = NULL;

  if (!g_file_get_contents ("/proc/self/cgroup", &cgroups, NULL, NULL))
    return memory;
  lines = g_strsplit (cgroups, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autofree char *path = NULL;
      g_autofree char *max = NULL;
      const char *at;
      guint64 limit;

      if (g_str_has_prefix (lines[i], "0::/"))
        path = g_build_filename ("/sys/fs/cgroup", lines[i] + strlen ("0::/"), "memory.max", NULL);
      else if ((at = strstr (lines[i], ":memory:/")) != NULL)
        path = g_build_filename ("/sys/fs/cgroup/memory", at + strlen (":memory:/"),
                                 "memory.limit_in_bytes", NULL);
      if (path != NULL && g_file_get_contents (path, &max, NULL, NULL) &&
          g_ascii_string_to_unsigned (g_strstrip (max), 10, 1, G_MAXUINT64, &limit, NULL))
        memory = MIN (memory, limit);
    }
  return memory;
}

/* The first chunk of a @size-byte upload whose first copy the nodes keep in the page cache: the
 * file's last cache_budget bytes. A file is often read back soon after it is stored (to check
 * it, or on another machine), and a download then reads those copies from memory instead of the
 * disk (2026-11-29, 1 GiB: 1.25-1.7 s against 1.5-1.9 s, and no disk read); every other copy is
 * cold (TSR_SEGMENT_PUT_COLD), so that one big upload does not push the desktop's own files out
 * of memory. */
static guint64
upload_cache_from (TsrCluster *self, guint64 size)
{
  guint64 chunk = self->config->chunk_size;

  if (size <= self->cache_budget)
    return 0;
  /* The chunks from the one holding byte size - budget on, rounded up: all within the budget. */
  return (size - self->cache_budget + chunk - 1) / chunk;
}

/* Refuses at once, saying how much is needed, an upload that cannot fit on the nodes that are
 * up: each within what is left of its quota (each chunk's copies go to different nodes, so a
 * node counts for at most one copy's share), and the embedded ones on one file system within
 * what it has free together. */
static gboolean
check_space (TsrCluster *self, const char *name, guint64 size, GError **error)
{
  guint64 need = stored_size (self, size), per_copy = need / MAX (self->config->replicas, 1);
  guint64 avail;
  guint up = 0;
  g_autoptr (GPtrArray) stores = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GArray) store_left = g_array_new (FALSE, FALSE, sizeof (guint64));
  SpaceTally tally;

  space_tally_init (&tally);
  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->members->len; i++)
    {
      Member *m = self->members->pdata[i];
      gboolean takes = m->config->enabled && m->status.alive && !m->draining;
      guint64 left = MIN (per_copy, tsr_node_status_get_quota_left (&m->status));

      up += takes;
      /* An embedded node's disk is asked below, now, outside the lock: what the last health
       * check saw may be stale (space freed since would be refused). A remote node's disk is
       * left to the upload, which fails cleanly if it fills, rather than refusing on a figure
       * that may be stale. */
      if (takes && m->store != NULL)
        {
          g_ptr_array_add (stores, g_object_ref (m->store));
          g_array_append_val (store_left, left);
        }
      else if (takes)
        space_tally_add (&tally, 0, left, G_MAXUINT64);
    }
  g_mutex_unlock (&self->lock);
  for (guint i = 0; i < stores->len; i++)
    {
      TsrStorageInfo info;

      tsr_segment_store_get_info (stores->pdata[i], &info);
      space_tally_add (&tally, info.disk_id, g_array_index (store_left, guint64, i),
                       info.disk_free_bytes);
    }
  avail = space_tally_finish (&tally);
  /* Too few nodes up is another problem, which the upload itself reports. */
  if (need <= avail || up < self->config->replicas)
    return TRUE;
  {
    g_autofree char *need_str = g_format_size (need);
    g_autofree char *avail_str = g_format_size (avail);
    g_autofree char *size_str = g_format_size (size);
    g_set_error (
        error, TSR_ERROR, TSR_ERROR_NO_SPACE,
        _ ("Not enough space to upload %s: it needs %s (%u copies of %s encrypted, %llu bytes) "
           "but the nodes that are up have %s free (%llu bytes); free some space or add a node"),
        name, need_str, self->config->replicas, size_str, (unsigned long long)need, avail_str,
        (unsigned long long)avail);
  }
  return FALSE;
}

/* ---- how many uploads at once ----
 *
 * A folder's worth of files dropped on the window, or named to `tessera-cli upload`, starts an
 * upload each. Each small file's upload waits mostly on flushes (its nodes' syncfs, its
 * manifest's fsync), which overlap, so several at once go faster: 1000 files of up to 32 KiB
 * took 1.35 s one at a time and 0.74 s eight at a time (four: 0.96 s; sixteen: 0.78 s). A big
 * file's upload keeps the processors and the disk busy on its own, and takes memory for its
 * chunks in flight: it goes alone. So an upload runs when it is the first in line and nothing
 * else runs, or fewer than UPLOADS_AT_ONCE run and its file fits in UPLOAD_BYTES_AT_ONCE with
 * theirs. In line means in the order they asked (a ticket taken when asked, not when the
 * upload's thread gets to it): a big file is not overtaken. */
#define UPLOADS_AT_ONCE      8
#define UPLOAD_BYTES_AT_ONCE ((guint64)16 << 20)

typedef struct
{
  gsize number;
  gboolean used; /* let run, or given up */
} Ticket;

static gsize
take_ticket (TsrCluster *self)
{
  gsize number;

  g_mutex_lock (&self->uploads_mutex);
  number = ++self->next_ticket;
  g_queue_push_tail (&self->tickets, GSIZE_TO_POINTER (number));
  g_mutex_unlock (&self->uploads_mutex);
  return number;
}

/* Gives up a place in line: the next may be first now. */
static void
drop_ticket (TsrCluster *self, gsize number)
{
  g_mutex_lock (&self->uploads_mutex);
  g_queue_remove (&self->tickets, GSIZE_TO_POINTER (number));
  g_cond_broadcast (&self->uploads_cond);
  g_mutex_unlock (&self->uploads_mutex);
}

static void
wake_admissions (GCancellable *cancellable, TsrCluster *self)
{
  g_mutex_lock (&self->uploads_mutex);
  g_cond_broadcast (&self->uploads_cond);
  g_mutex_unlock (&self->uploads_mutex);
}

static gboolean
may_run (TsrCluster *self, gsize number, guint64 size)
{
  return GPOINTER_TO_SIZE (g_queue_peek_head (&self->tickets)) == number &&
         (self->uploads_running == 0 || (self->uploads_running < UPLOADS_AT_ONCE &&
                                         self->upload_bytes + size <= UPLOAD_BYTES_AT_ONCE));
}

/* Waits for the upload of a file of @size bytes to be let run (see above), and uses @ticket up
 * either way. %FALSE when @cancellable was cancelled first. */
static gboolean
admit_upload (TsrCluster *self, Ticket *ticket, guint64 size, GCancellable *cancellable)
{
  gulong handler = 0;
  gboolean admitted;

  if (cancellable != NULL)
    handler = g_cancellable_connect (cancellable, G_CALLBACK (wake_admissions), self, NULL);
  g_mutex_lock (&self->uploads_mutex);
  while (!may_run (self, ticket->number, size) && !g_cancellable_is_cancelled (cancellable))
    g_cond_wait (&self->uploads_cond, &self->uploads_mutex);
  admitted = may_run (self, ticket->number, size);
  g_queue_remove (&self->tickets, GSIZE_TO_POINTER (ticket->number));
  ticket->used = TRUE;
  if (admitted)
    {
      self->uploads_running++;
      self->upload_bytes += size;
      self->peak_uploads = MAX (self->peak_uploads, self->uploads_running);
      self->peak_upload_bytes = MAX (self->peak_upload_bytes, self->upload_bytes);
    }
  /* The next in line may run now, or may be first now. */
  g_cond_broadcast (&self->uploads_cond);
  g_mutex_unlock (&self->uploads_mutex);
  if (handler != 0)
    g_cancellable_disconnect (cancellable, handler);
  return admitted;
}

static void
upload_done (TsrCluster *self, guint64 size)
{
  g_mutex_lock (&self->uploads_mutex);
  self->uploads_running--;
  self->upload_bytes -= size;
  g_cond_broadcast (&self->uploads_cond);
  g_mutex_unlock (&self->uploads_mutex);
}

/* For tests: the most uploads, and bytes of their files, that ran at once so far. */
void
_tsr_cluster_get_upload_peak (TsrCluster *self, guint *uploads, guint64 *bytes)
{
  g_mutex_lock (&self->uploads_mutex);
  *uploads = self->peak_uploads;
  *bytes = self->peak_upload_bytes;
  g_mutex_unlock (&self->uploads_mutex);
}

/* tsr_cluster_upload(), in its turn (see admit_upload()). */
static TsrManifest *
upload_file (TsrCluster *self, GFile *file, Ticket *ticket, GCancellable *cancellable,
             GError **error)
{
  g_autoptr (TsrChunker) chunker = NULL;
  g_autoptr (TsrManifest) manifest = tsr_manifest_new ();
  g_autoptr (TsrKey) file_key = tsr_key_new_random ();
  g_autoptr (TsrSha256) hasher = tsr_sha256_new ();
  g_autoptr (GFileInfo) info = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *name = NULL;
  g_autofree char *path = NULL;
  char file_hash[TSR_SHA256_HEX_LEN + 1];
  TsrManifest *result = NULL;
  gboolean committed;
  Upload up = { 0 };
  StoreJob *job = NULL;
  GBytes *plain;

  if (!self->started)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_STOPPED, _ ("The cluster is not started"));
      return NULL;
    }
  if (self->members->len < self->config->replicas)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_UNREACHABLE,
                   _ ("Files are kept in %u copies but the cluster has %u nodes; add nodes first"),
                   self->config->replicas, self->members->len);
      return NULL;
    }
  info =
      g_file_query_info (file,
                         G_FILE_ATTRIBUTE_STANDARD_TYPE "," G_FILE_ATTRIBUTE_STANDARD_SIZE
                                                        "," G_FILE_ATTRIBUTE_STANDARD_DISPLAY_NAME,
                         G_FILE_QUERY_INFO_NONE, cancellable, &local_error);
  if (info == NULL)
    {
      g_autofree char *parse_name = g_file_get_parse_name (file);
      g_set_error (error, TSR_ERROR,
                   g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND)
                       ? TSR_ERROR_NOT_FOUND
                       : TSR_ERROR_IO,
                   _ ("Cannot upload %s: %s"), parse_name, local_error->message);
      return NULL;
    }
  if (g_file_info_get_file_type (info) != G_FILE_TYPE_REGULAR)
    {
      g_autofree char *parse_name = g_file_get_parse_name (file);
      g_set_error (
          error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
          _ ("Cannot upload %s: only regular files can be uploaded, not folders or devices"),
          parse_name);
      return NULL;
    }
  chunker = tsr_chunker_new_for_file (file, self->config->chunk_size, cancellable, error);
  if (chunker == NULL)
    return NULL;
  /* The manifest's name is UTF-8: bytes that are not (a name from an old Latin-1 disk) become
   * U+FFFD, or the manifest could not be read back and the file would vanish from the list. */
  {
    g_autofree char *base = g_file_get_basename (file);
    name = g_filename_display_name (base);
  }
  if (!admit_upload (self, ticket, g_file_info_get_size (info), cancellable))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_CANCELLED, _ ("Upload of %s was cancelled"), name);
      return NULL;
    }
  /* The cluster may have stopped while this waited its turn. */
  if (!begin_op_if_started (self, error))
    {
      upload_done (self, g_file_info_get_size (info));
      return NULL;
    }
  if (!check_space (self, name, g_file_info_get_size (info), error))
    {
      end_op (self);
      upload_done (self, g_file_info_get_size (info));
      return NULL;
    }

  _tsr_cluster_lock_segments (self, FALSE);
  transfer_init (&up.t, self, name, g_file_info_get_size (info), cancellable);
  up.n_members = self->members->len;
  up.replicas = self->config->replicas;
  up.group = STORE_GROUP;
  transfer_window (self, self->config->chunk_size, TSR_CLUSTER_UPLOAD_WINDOW, &up.group, &up.jobs);
  up.need = stored_size (self, g_file_info_get_size (info));
  up.hot_from = upload_cache_from (self, g_file_info_get_size (info));
  up.down = g_new0 (gboolean, up.n_members);
  up.full = g_new0 (gboolean, up.n_members);
  up.used = g_new0 (gboolean, up.n_members);
  /* Nodes the last health check found down are skipped at once, not after a timeout. */
  g_mutex_lock (&self->lock);
  for (guint i = 0; i < up.n_members; i++)
    {
      Member *m = self->members->pdata[i];
      /* A node being removed takes no new copy, as if it were down. */
      up.down[i] = !m->status.alive || m->draining;
    }
  g_mutex_unlock (&self->lock);

  transfer_progress (&up.t, 0, TRUE);
  while ((plain = tsr_chunker_next (chunker, up.t.cancellable, &local_error)) != NULL)
    {
      gsize len;
      const guint8 *data = g_bytes_get_data (plain, &len);
      guint64 index = tsr_chunker_get_index (chunker) - 1;
      char seg_id[TSR_SHA256_HEX_LEN + 1];
      StoreChunk *sc;

      if (job == NULL)
        {
          job = g_new0 (StoreJob, 1);
          job->up = &up;
        }
      sc = &job->chunks[job->count++];
      tsr_sha256_update (hasher, data, len);
      sc->plain_len = len;
      sc->data = tsr_chunk_encrypt (file_key, self->chunk_cipher, index, data, len);
      g_bytes_unref (plain);
      tsr_sha256_hex (g_bytes_get_data (sc->data, NULL), g_bytes_get_size (sc->data), seg_id);
      sc->chunk = tsr_manifest_add_chunk (manifest, seg_id, g_bytes_get_size (sc->data));

      if (job->count == up.group)
        {
          transfer_acquire (&up.t, up.jobs);
          pool_push (self, JOB_STORE, g_steal_pointer (&job));
        }
    }
  /* A file written to while it was read would be stored as a version that never existed
   * whole: fail rather than keep it. */
  if (local_error == NULL && !tsr_chunker_check_unchanged (chunker, name, &local_error))
    g_debug ("Upload of %s: the file changed while it was read", name);
  if (local_error != NULL)
    transfer_fail (&up.t, g_steal_pointer (&local_error));
  if (job != NULL)
    {
      /* The last chunks of the file. After a failure the transfer is cancelled: the job
       * stores none of them and only frees them. */
      transfer_acquire (&up.t, up.jobs);
      pool_push (self, JOB_STORE, g_steal_pointer (&job));
    }
  transfer_wait_idle (&up.t);

  /* Whatever failed first, a cancel by the caller is reported as such. */
  if (g_cancellable_is_cancelled (cancellable))
    {
      g_clear_error (&up.t.error);
      up.t.error =
          g_error_new (TSR_ERROR, TSR_ERROR_CANCELLED, _ ("Upload of %s was cancelled"), name);
    }

  /* One flush per node, then the manifest: the promise comes after the data. */
  g_debug ("Upload of %s: segments stored in %.2f s", name,
           (g_get_monotonic_time () - up.t.started) / 1e6);
  if (up.t.error == NULL && sync_uploaded (self, &up, manifest, &local_error))
    {
      g_debug ("Upload of %s: durable after %.2f s", name,
               (g_get_monotonic_time () - up.t.started) / 1e6);
      tsr_sha256_finish (hasher, file_hash);
      manifest->file_hash = g_strdup (file_hash);
      manifest->file_id = g_strndup (file_hash, TSR_FILE_ID_LEN);
      manifest->name = g_strdup (name);
      manifest->size = tsr_chunker_get_offset (chunker);
      manifest->chunk_size = self->config->chunk_size;
      manifest->chunk_count = manifest->chunks->len;
      manifest->created_at = g_get_real_time () / G_USEC_PER_SEC;
      manifest->replicas = up.replicas;
      manifest->cipher = g_strdup (tsr_chunk_cipher_to_string (self->chunk_cipher));
      manifest->sealed_key = tsr_key_seal (kek (self), file_key);
      path = manifest_path (self, manifest->file_id);
      /* Under the catalog lock: a repair or rebalance rewriting a manifest it loaded checks,
       * under the same lock, that this is still the file it loaded. */
      _tsr_cluster_lock_catalog (self);
      committed = tsr_manifest_save_new (manifest, path, &local_error);
      _tsr_cluster_unlock_catalog (self);
      if (committed)
        result = g_steal_pointer (&manifest);
      else if (g_error_matches (local_error, TSR_ERROR, TSR_ERROR_EXISTS))
        {
          /* The same content is stored already (the file id is its hash): keep that copy,
           * which may be in use, and drop this one's segments. */
          g_clear_error (&local_error);
          result = tsr_manifest_load (path, &local_error);
        }
    }
  if (local_error != NULL && up.t.error == NULL)
    up.t.error = g_steal_pointer (&local_error);

  if (result == NULL || manifest != NULL)
    {
      /* Copies on nodes that went down during the upload are not waited for: garbage
       * collection removes them later. */
      guint left = delete_segments (self, manifest, up.down);
      g_autoptr (GError) ignored = NULL;

      sync_nodes (self, up.used, &ignored);
      if (left > 0)
        g_message ("%u copies of %s's segments on nodes that are down are left for garbage "
                   "collection",
                   left, name);
    }
  if (result != NULL)
    {
      transfer_progress (&up.t, 0, TRUE);
      emit (self, SIGNAL_FILES_CHANGED, NULL, 0, 0, 0, 0);
    }
  else
    g_propagate_error (error, g_steal_pointer (&up.t.error));

  transfer_clear (&up.t);
  g_free (up.down);
  g_free (up.full);
  g_free (up.used);
  _tsr_cluster_unlock_segments (self, FALSE);
  end_op (self);
  upload_done (self, g_file_info_get_size (info));
  return result;
}

static TsrManifest *
upload_with_ticket (TsrCluster *self, GFile *file, gsize number, GCancellable *cancellable,
                    GError **error)
{
  Ticket ticket = { number, FALSE };
  TsrManifest *m = upload_file (self, file, &ticket, cancellable, error);

  if (!ticket.used) /* it failed before its turn */
    drop_ticket (self, number);
  return m;
}

/**
 * tsr_cluster_upload:
 * @file: a regular file
 *
 * The seed's File Upload Flow, streaming and encrypted. Blocks: call it on a worker thread,
 * or use tsr_cluster_upload_async(). Emits transfer-progress. A failed or cancelled upload
 * leaves no manifest and removes the segments it stored.
 *
 * Returns: (transfer full): the new file's manifest
 */
TsrManifest *
tsr_cluster_upload (TsrCluster *self, GFile *file, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (TSR_IS_CLUSTER (self), NULL);
  g_return_val_if_fail (G_IS_FILE (file), NULL);

  return upload_with_ticket (self, file, take_ticket (self), cancellable, error);
}

/* An async upload no thread has taken yet, shared (g_atomic_rc_box) by the queue and the handler
 * on its cancellable: a cancel while it waits ends it at once. */
typedef struct
{
  /* Weak: the handler's share may outlive the upload, and must not keep the cluster. While
   * queued, the task holds the cluster. */
  GWeakRef self;
  GTask *task;    /* until a thread or the cancel takes it; under uploads_mutex */
  gulong handler; /* on the task's cancellable; 0: none */
} PendingUpload;

static void
pending_clear (gpointer data)
{
  PendingUpload *p = data;

  g_clear_object (&p->task);
  g_weak_ref_clear (&p->self);
}

/* What an async upload's task carries. */
typedef struct
{
  GFile *file;
  gsize ticket; /* its place in line, taken when it was asked for */
} UploadRequest;

static void
upload_request_free (UploadRequest *request)
{
  g_object_unref (request->file);
  g_free (request);
}

static void
pending_release (gpointer p)
{
  g_atomic_rc_box_release_full (p, pending_clear);
}

static void
run_upload (GTask *task)
{
  TsrCluster *self = g_task_get_source_object (task);
  UploadRequest *request = g_task_get_task_data (task);
  GError *error = NULL;
  TsrManifest *m;

  m = upload_with_ticket (self, request->file, request->ticket, g_task_get_cancellable (task),
                          &error);
  if (m == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, m, (GDestroyNotify)tsr_manifest_free);
}

/* Gives up @task's place in line, and says it was cancelled. */
static void
return_cancelled (GTask *task)
{
  UploadRequest *request = g_task_get_task_data (task);
  g_autofree char *name = g_file_get_basename (request->file);

  drop_ticket (g_task_get_source_object (task), request->ticket);
  g_task_return_new_error (task, TSR_ERROR, TSR_ERROR_CANCELLED, _ ("Upload of %s was cancelled"),
                           name);
}

/* On the thread that cancelled. Takes the queue's share of @p if it is still queued; the
 * handler's share goes when the handler does (a handler cannot disconnect itself). */
static void
on_pending_cancelled (GCancellable *cancellable, PendingUpload *p)
{
  g_autoptr (TsrCluster) self = g_weak_ref_get (&p->self);
  g_autoptr (GTask) task = NULL;
  gboolean queued;

  if (self == NULL) /* long gone: so is the upload */
    return;
  g_mutex_lock (&self->uploads_mutex);
  queued = g_queue_remove (&self->pending, p);
  if (queued)
    task = g_steal_pointer (&p->task);
  g_mutex_unlock (&self->uploads_mutex);
  if (queued)
    {
      return_cancelled (task);
      pending_release (p);
    }
}

/* Runs @task, then the pending ones, until none is left. */
static void
upload_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  TsrCluster *self = source;

  run_upload (task);
  for (;;)
    {
      g_autoptr (GTask) next = NULL;
      PendingUpload *p;

      g_mutex_lock (&self->uploads_mutex);
      p = g_queue_pop_head (&self->pending);
      if (p == NULL)
        self->upload_threads--;
      else
        next = g_steal_pointer (&p->task);
      g_mutex_unlock (&self->uploads_mutex);
      if (p == NULL)
        return;
      /* Waits for a handler running on another thread, and drops its share. */
      if (p->handler != 0)
        g_cancellable_disconnect (g_task_get_cancellable (next), p->handler);
      pending_release (p); /* the queue's share */
      run_upload (next);
    }
}

/**
 * tsr_cluster_upload_async:
 *
 * Uploads run UPLOADS_AT_ONCE at most, each on a thread of its own; the others wait, in the order
 * they were asked for, and one cancelled while it waits ends at once.
 */
void
tsr_cluster_upload_async (TsrCluster *self, GFile *file, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  PendingUpload *p = g_atomic_rc_box_new0 (PendingUpload);
  UploadRequest *request = g_new0 (UploadRequest, 1);
  gboolean start = FALSE, queued = FALSE, cancelled = FALSE;

  g_task_set_source_tag (task, tsr_cluster_upload_async);
  /* Our own TSR_ERROR_CANCELLED, not GTask's G_IO_ERROR_CANCELLED. */
  g_task_set_check_cancellable (task, FALSE);
  request->file = g_object_ref (file);
  request->ticket = take_ticket (self);
  g_task_set_task_data (task, request, (GDestroyNotify)upload_request_free);

  /* Connected before it can be queued, with a share of its own (dropped at once when the
   * cancellable is cancelled already: the handler then finds nothing queued). */
  g_weak_ref_init (&p->self, self);
  if (cancellable != NULL)
    p->handler = g_cancellable_connect (cancellable, G_CALLBACK (on_pending_cancelled),
                                        g_atomic_rc_box_acquire (p), pending_release);
  g_mutex_lock (&self->uploads_mutex);
  if (g_cancellable_is_cancelled (cancellable))
    cancelled = TRUE;
  else if (self->upload_threads < UPLOADS_AT_ONCE)
    {
      self->upload_threads++;
      start = TRUE;
    }
  else
    {
      p->task = g_object_ref (task);
      g_queue_push_tail (&self->pending, p); /* with this function's share */
      queued = TRUE;
    }
  g_mutex_unlock (&self->uploads_mutex);

  if (queued)
    return;
  if (p->handler != 0)
    g_cancellable_disconnect (cancellable, p->handler);
  pending_release (p);
  if (cancelled)
    return_cancelled (task);
  else if (start)
    _tsr_task_run_in_own_thread (task, upload_thread);
}

TsrManifest *
tsr_cluster_upload_finish (TsrCluster *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- download ---- */

typedef struct
{
  Transfer t;
  TsrManifest *manifest;
  TsrKey *key;
  TsrChunkCipher cipher;
  guint group;    /* chunks per pool job: up to FETCH_GROUP (see transfer_window()) */
  guint jobs;     /* pool jobs in flight at most */
  guint window;   /* chunks fetched ahead at most: group * jobs */
  GBytes **slots; /* window of them, under t.mutex */
} Download;

/* A pool job asks for this many consecutive chunks at once (they live on all the nodes, round
 * robin): one RetrieveSegments to each node for the chunks whose first live copy it holds,
 * then it takes the answers. One thread and one wait for the group instead of one per chunk
 * (alternating 512 MiB downloads: 1.46 s with one chunk per job, 1.27 s with 16 requests in
 * flight), and one request and one answer per node instead of one per chunk (alternating
 * 1 GiB downloads: 2.86 s with 16 requests in flight, 2.60 s with batches from groups of 16,
 * 2.47 s from groups of 32; groups of 64 were no faster and took peak RSS to 61 MiB). Since
 * nodes read around the page cache, a download waits on their disks, and more jobs of fewer
 * chunks keep the disks busier: 1 GiB from disk took 1.6-1.9 s in jobs of 8 chunks (8 jobs in
 * the window) against 2.3-2.4 s in jobs of 32 (2 jobs), peak RSS alike (38-45 MiB); more
 * connections per node were no faster, and took more memory. Since an upload keeps its first
 * copies in the page cache (upload_cache_from()), a download right after it is bound by the
 * processors, and jobs of 32 in a window of 128 (4 jobs) take the least of them: five rounds of
 * alternating 1 GiB downloads from the cache (2026-11-29), 1.15-1.21 s and 2.0-2.2 CPU-s
 * against 1.24-1.42 s and 2.3-2.6 CPU-s in jobs of 8 (window 128; 1.20-1.27 s in a window of
 * 64), and jobs of 16 in between; from disk, 1.67-1.83 s against 1.58-1.78 s in jobs of 8 in a
 * window of 64. A second series of five: 1.10-1.29 s against 1.19-1.41 s from the cache,
 * 1.80-1.92 s against 1.78-1.92 s from disk. Peak RSS 45-51 MiB against 38-42. */
#define FETCH_GROUP 32
G_STATIC_ASSERT (TSR_CLUSTER_DOWNLOAD_WINDOW % FETCH_GROUP == 0);
G_STATIC_ASSERT (FETCH_GROUP <= TSR_NODE_RETRIEVE_BATCH_MAX);

typedef struct
{
  Download *down;
  guint64 first;
  guint count;
} FetchJob;

static gboolean
member_is_alive (TsrCluster *self, Member *m)
{
  gboolean alive;

  g_mutex_lock (&self->lock);
  alive = m->status.alive;
  g_mutex_unlock (&self->lock);
  return alive;
}

/* The client for the first copy on an enabled node that was up at the last health check,
 * and that node's member. */
static TsrNodeClient *
first_live_client (TsrCluster *self, TsrManifestChunk *chunk, Member **member)
{
  for (guint j = 0; j < chunk->nodes->len; j++)
    {
      Member *m = find_member (self, chunk->nodes->pdata[j]);
      TsrNodeClient *client;

      if (m != NULL && member_is_alive (self, m) && (client = member_dup_client (self, m)) != NULL)
        {
          *member = m;
          return client;
        }
    }
  return NULL;
}

/* The other copies in turn, when asking the first live one (@tried, which failed with
 * @tried_error after its own retries; both may be NULL) did not give an authentic chunk.
 * Fails the transfer when none does. */
static GBytes *
fetch_chunk_from_any_copy (Download *down, guint64 index, Member *tried, GError *tried_error)
{
  TsrCluster *self = down->t.self;
  TsrManifestChunk *chunk = down->manifest->chunks->pdata[index];
  g_autoptr (GBytes) plain = NULL;
  g_autoptr (GError) last_error = tried_error;
  g_autoptr (GString) disabled = g_string_new (NULL);

  /* Try the copies on nodes that were up at the last health check first, then the rest:
   * the seed's "segment not found: query other nodes". */
  for (int pass = 0; pass < 2 && plain == NULL; pass++)
    for (guint j = 0; j < chunk->nodes->len && plain == NULL; j++)
      {
        Member *m = find_member (self, chunk->nodes->pdata[j]);
        g_autoptr (TsrNodeClient) client = NULL;
        g_autoptr (GBytes) cipher = NULL;
        g_autoptr (GError) error = NULL;

        if (m == NULL || m == tried || g_cancellable_is_cancelled (down->t.cancellable))
          continue;
        if (member_is_alive (self, m) != (pass == 0))
          continue;
        client = member_dup_client (self, m);
        if (client == NULL)
          {
            g_string_append_printf (disabled, "%s%s", disabled->len ? ", " : "",
                                    m->config->node_id);
            continue;
          }
        /* The chunk's AEAD tag authenticates these bytes (see tsr-crypto.h). */
        cipher = tsr_node_client_retrieve_segment_unverified (client, chunk->segment_id,
                                                              down->t.cancellable, &error);
        if (cipher != NULL)
          plain =
              tsr_chunk_decrypt (down->key, down->cipher, index, g_bytes_get_data (cipher, NULL),
                                 g_bytes_get_size (cipher), &error);
        if (plain == NULL)
          {
            g_debug ("Chunk %" G_GUINT64_FORMAT " from %s: %s", index, m->config->node_id,
                     error->message);
            g_clear_error (&last_error);
            last_error = g_steal_pointer (&error);
          }
      }

  if (plain == NULL && !g_cancellable_is_cancelled (down->t.cancellable))
    {
      g_autoptr (GString) msg = g_string_new (NULL);

      if (chunk->nodes->len == 0)
        g_string_printf (msg, _ ("Chunk %llu of %s is lost: no node holds a copy any more"),
                         (unsigned long long)index, down->manifest->name);
      else
        g_string_printf (msg, _ ("Chunk %llu of %s could not be read from any of its %u copies"),
                         (unsigned long long)index, down->manifest->name, chunk->nodes->len);
      if (last_error != NULL)
        g_string_append_printf (msg, ": %s", last_error->message);
      if (disabled->len > 0)
        g_string_append_printf (msg, _ ("; disabled: %s (enable them with `node enable`)"),
                                disabled->str);
      transfer_fail (&down->t,
                     g_error_new_literal (TSR_ERROR,
                                          last_error ? TSR_ERROR_NOT_FOUND : TSR_ERROR_UNREACHABLE,
                                          msg->str));
    }
  return g_steal_pointer (&plain);
}

/* Decrypts a chunk its first live copy gave (@cipher, or NULL and @error), going through
 * the other copies when that fell short, and puts it in its slot. */
static void
deliver_chunk (Download *down, guint64 index, GBytes *cipher, GError *error, Member *tried)
{
  g_autoptr (GBytes) owned = cipher;
  g_autoptr (GError) local_error = error;
  GBytes *plain = NULL;

  if (owned != NULL)
    plain = tsr_chunk_decrypt (down->key, down->cipher, index, g_bytes_get_data (owned, NULL),
                               g_bytes_get_size (owned), &local_error);
  if (plain == NULL && local_error != NULL)
    g_debug ("Chunk %" G_GUINT64_FORMAT ": %s; trying the other copies", index,
             local_error->message);
  /* The first copy's node was already retried: it is not asked again. */
  if (plain == NULL)
    plain = fetch_chunk_from_any_copy (down, index, tried, g_steal_pointer (&local_error));

  g_mutex_lock (&down->t.mutex);
  down->slots[index % down->window] = plain;
  transfer_wake (&down->t);
  g_mutex_unlock (&down->t.mutex);
}

G_STATIC_ASSERT (FETCH_GROUP <= JOB_BATCH_MAX);

static void
fetch_job_run (gpointer data)
{
  FetchJob *job = data;
  Download *down = job->down;
  TsrCluster *self = down->t.self;
  NodeBatch batches[FETCH_GROUP]; /* the chunks whose first live copy is on one node */
  guint n_batches = 0, n_unasked = 0;
  guint unasked[FETCH_GROUP];

  /* Ask each node at once for the chunks whose first live copy it holds... */
  for (guint k = 0; k < job->count; k++)
    {
      TsrManifestChunk *chunk = down->manifest->chunks->pdata[job->first + k];
      TsrNodeClient *client = NULL;
      Member *m = NULL;
      NodeBatch *batch;

      if (!g_cancellable_is_cancelled (down->t.cancellable))
        client = first_live_client (self, chunk, &m);
      if (client == NULL)
        {
          unasked[n_unasked++] = k;
          continue;
        }
      batch = node_batch_for (batches, &n_batches, m, client);
      batch->items[batch->n++] = k;
    }
  for (guint b = 0; b < n_batches; b++)
    {
      const char *ids[FETCH_GROUP];

      for (guint j = 0; j < batches[b].n; j++)
        ids[j] =
            ((TsrManifestChunk *)down->manifest->chunks->pdata[job->first + batches[b].items[j]])
                ->segment_id;
      batches[b].call = tsr_node_client_retrieve_many_begin (batches[b].client, ids, batches[b].n,
                                                             down->t.cancellable);
      g_clear_object (&batches[b].client);
    }
  /* ...then take the answers, trying the other copies where one fell short. */
  for (guint b = 0; b < n_batches; b++)
    {
      GBytes *ciphers[FETCH_GROUP];
      GError *errors[FETCH_GROUP];

      tsr_node_client_retrieve_many_end (batches[b].call, ciphers, errors);
      for (guint j = 0; j < batches[b].n; j++)
        deliver_chunk (down, job->first + batches[b].items[j], ciphers[j], errors[j],
                       batches[b].member);
    }
  for (guint u = 0; u < n_unasked; u++)
    deliver_chunk (down, job->first + unasked[u], NULL, NULL, NULL);

  transfer_release (&down->t);
  g_free (job);
}

/* Fetches the chunks from @first on, a group of them or to the end of the file. */
static void
push_fetch (TsrCluster *self, Download *down, guint64 first)
{
  FetchJob *job = g_new0 (FetchJob, 1);

  job->down = down;
  job->first = first;
  job->count = (guint)MIN (down->group, down->manifest->chunk_count - first);
  transfer_acquire (&down->t, down->jobs);
  pool_push (self, JOB_FETCH, job);
}

/* Whether a download may go to @dest: nothing there, or a regular file when @overwrite. Never a
 * link, a device or a pipe: replacing /dev/null or a link with the file is not what anyone
 * asking to overwrite meant. */
static gboolean
check_destination (const char *dest, gboolean overwrite, GError **error)
{
  struct stat st;

  if (lstat (dest, &st) != 0)
    return TRUE; /* nothing there; a missing folder is reported when the file is made */
  if (S_ISDIR (st.st_mode))
    g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
                 _ ("%s is a folder; give a file name to download to"), dest);
  else if (!S_ISREG (st.st_mode))
    g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
                 _ ("%s is not a regular file (a link, a device or a pipe); not replacing it"),
                 dest);
  else if (!overwrite)
    g_set_error (error, TSR_ERROR, TSR_ERROR_EXISTS,
                 _ ("%s already exists; choose another name or allow overwriting"), dest);
  else
    return TRUE;
  return FALSE;
}

/* Opens the file a download is written to, in @dir: an unnamed one (O_TMPFILE), linked in only
 * once the whole file is there and checked, so that a download killed halfway leaves no part
 * of the plaintext behind. Where the file system has no unnamed files, a hidden one whose
 * name goes to *@tmp (short: a file's own name may be as long as a name can be). */
static int
open_download_file (const char *dir, TsrDownloadFile how, char **tmp, GError **error)
{
  gboolean proc =
      how != TSR_DOWNLOAD_FILE_NAMED && g_file_test ("/proc/self/fd", G_FILE_TEST_IS_DIR);
  int fd = -1;

  *tmp = NULL;
  /* Readable too: where it cannot be linked in after all, it is copied (copy_to_hidden()). */
  if (proc)
    fd = open (dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
  if (!proc || (fd < 0 && tsr_tmpfile_refused (errno)))
    {
      *tmp = g_build_filename (dir, ".tessera-XXXXXX", NULL);
      fd = g_mkstemp_full (*tmp, O_WRONLY | O_CLOEXEC, 0644);
      if (fd < 0)
        g_clear_pointer (tmp, g_free);
    }
  if (fd < 0)
    tsr_set_error_from_errno (error, errno, _ ("Cannot write into %s"), dir);
  return fd;
}

/* Copies the unnamed file open on @fd to a hidden file in @dir, made durable, whose name goes
 * to *@tmp. */
static gboolean
copy_to_hidden (int fd, const char *dir, char **tmp, GError **error)
{
  g_autofree char *path = g_build_filename (dir, ".tessera-XXXXXX", NULL);
  g_autofree guint8 *buf = g_malloc (1024 * 1024);
  int out = g_mkstemp_full (path, O_WRONLY | O_CLOEXEC, 0644);
  off_t at = 0;
  ssize_t n = 0;
  gboolean ok;
  int saved;

  if (out < 0)
    {
      tsr_set_error_from_errno (error, errno, _ ("Cannot write into %s"), dir);
      return FALSE;
    }
  fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) & ~O_DIRECT); /* the writer may have set it */
  while ((n = pread (fd, buf, 1024 * 1024, at)) != 0)
    {
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 || !tsr_write_all (out, buf, n))
        break;
      at += n;
    }
  ok = n == 0 && fsync (out) == 0;
  saved = errno;
  if (close (out) != 0 && ok)
    {
      ok = FALSE;
      saved = errno;
    }
  if (!ok)
    {
      tsr_set_error_from_errno (error, saved, _ ("Cannot write into %s"), dir);
      g_unlink (path);
      return FALSE;
    }
  *tmp = g_steal_pointer (&path);
  return TRUE;
}

/* Puts the finished download open on @fd at @dest: the hidden file *@tmp renamed or linked,
 * or the unnamed one linked in. Without @overwrite, a file that appeared at @dest meanwhile is
 * left alone (link() refuses it). Where an unnamed file cannot be linked in after all (a
 * sandbox refusing linkat()), it is copied to a hidden one first. */
static void
place_download (int fd, const char *dir, TsrDownloadFile how, char **tmp, const char *dest,
                gboolean overwrite, GError **error)
{
  gboolean ok;

  if (*tmp == NULL)
    {
      if (how == TSR_DOWNLOAD_FILE_COPIED)
        errno = EPERM; /* as a sandbox refusing linkat() says */
      else if (tsr_link_unnamed (fd, dir, "tessera", dest, overwrite))
        return;
      if (errno != EEXIST && tsr_link_refused (errno) && copy_to_hidden (fd, dir, tmp, error))
        {
          place_download (fd, dir, how, tmp, dest, overwrite, error);
          return;
        }
      ok = FALSE;
    }
  else if (overwrite)
    ok = g_rename (*tmp, dest) == 0;
  else
    {
      ok = link (*tmp, dest) == 0;
      if (ok)
        g_unlink (*tmp);
    }
  if (ok || (error != NULL && *error != NULL))
    return;
  if (errno == EEXIST && !overwrite)
    g_set_error (error, TSR_ERROR, TSR_ERROR_EXISTS,
                 _ ("%s appeared while downloading; not overwriting it"), dest);
  else
    tsr_set_error_from_errno (error, errno, _ ("Cannot create %s"), dest);
}

/**
 * tsr_cluster_download:
 * @destination: where the file goes; must be a local path
 * @overwrite: replace an existing file
 *
 * The seed's File Download Flow. Blocks; see tsr_cluster_download_async(). The destination
 * appears only once the whole file is written and its SHA-256 matches the manifest.
 */
static gboolean
do_download (TsrCluster *self, const char *file_id, GFile *destination, gboolean overwrite,
             GCancellable *cancellable, GError **error)
{
  g_autoptr (TsrManifest) manifest = NULL;
  g_autoptr (TsrKey) key = NULL;
  g_autoptr (TsrSha256) hasher = tsr_sha256_new ();
  g_autofree char *dest = g_file_get_path (destination);
  g_autofree char *dir = NULL;
  g_autofree char *tmp = NULL;
  char actual[TSR_SHA256_HEX_LEN + 1];
  Download down = { 0 };
  TsrFileWriter *writer;
  GError *local_error = NULL;
  guint64 next = 0;
  gboolean replacing;
  int fd;

  g_return_val_if_fail (TSR_IS_CLUSTER (self), FALSE);

  if (!self->started)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_STOPPED, _ ("The cluster is not started"));
      return FALSE;
    }
  manifest = tsr_cluster_get_file (self, file_id, error);
  if (manifest == NULL)
    return FALSE;
  if (dest == NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
                   _ ("Downloads need a local destination"));
      return FALSE;
    }
  if (!check_destination (dest, overwrite, error))
    return FALSE;
  key = tsr_key_unseal (kek (self), manifest->sealed_key, error);
  if (key == NULL)
    return FALSE;

  dir = g_path_get_dirname (dest);
  fd = open_download_file (dir, self->download_file, &tmp, error);
  if (fd < 0)
    return FALSE;

  writer = tsr_file_writer_new (fd, dest);
  transfer_init (&down.t, self, manifest->name, manifest->size, cancellable);
  down.manifest = manifest;
  down.key = key;
  /* The manifest was validated when loaded, so its cipher is one this version knows. */
  tsr_chunk_cipher_from_string (manifest->cipher, &down.cipher);
  down.group = FETCH_GROUP;
  transfer_window (self, manifest->chunk_size, TSR_CLUSTER_DOWNLOAD_WINDOW, &down.group,
                   &down.jobs);
  down.window = down.group * down.jobs;
  down.slots = g_new0 (GBytes *, down.window);

  transfer_progress (&down.t, 0, TRUE);
  for (; next < MIN (manifest->chunk_count, down.window); next += down.group)
    push_fetch (self, &down, next);

  for (guint64 i = 0; i < manifest->chunk_count; i++)
    {
      g_autoptr (GBytes) plain = NULL;
      guint slot = i % down.window;

      g_mutex_lock (&down.t.mutex);
      while (down.slots[slot] == NULL && down.t.error == NULL &&
             !g_cancellable_is_cancelled (down.t.cancellable))
        transfer_wait (&down.t);
      plain = g_steal_pointer (&down.slots[slot]);
      g_mutex_unlock (&down.t.mutex);
      if (plain == NULL)
        break;

      /* Its group's slots are free once the group's last chunk is taken: fetch the group that
       * will use them while these are written. */
      if ((i + 1) % down.group == 0 && next < manifest->chunk_count)
        {
          push_fetch (self, &down, next);
          next += down.group;
        }

      tsr_sha256_update (hasher, g_bytes_get_data (plain, NULL), g_bytes_get_size (plain));
      if (!tsr_file_writer_write (writer, g_bytes_get_data (plain, NULL), g_bytes_get_size (plain),
                                  &local_error))
        {
          transfer_fail (&down.t, g_steal_pointer (&local_error));
          break;
        }
      transfer_progress (&down.t, g_bytes_get_size (plain), FALSE);
    }
  transfer_wait_idle (&down.t);
  if (down.t.error == NULL && !g_cancellable_is_cancelled (cancellable) &&
      !tsr_file_writer_finish (writer, &local_error))
    transfer_fail (&down.t, g_steal_pointer (&local_error));
  g_clear_pointer (&writer, tsr_file_writer_free);
  for (guint i = 0; i < down.window; i++)
    g_clear_pointer (&down.slots[i], g_bytes_unref);
  g_free (down.slots);

  if (g_cancellable_is_cancelled (cancellable))
    {
      g_clear_error (&down.t.error);
      down.t.error = g_error_new (TSR_ERROR, TSR_ERROR_CANCELLED,
                                  _ ("Download of %s was cancelled"), manifest->name);
    }
  if (down.t.error == NULL)
    {
      tsr_sha256_finish (hasher, actual);
      if (strcmp (actual, manifest->file_hash) != 0)
        down.t.error =
            g_error_new (TSR_ERROR, TSR_ERROR_CORRUPT,
                         _ ("%s came back different from what was uploaded"), manifest->name);
    }
  /* Replacing a file the user had: make the new one durable first, so a crash cannot leave
   * an empty file where a good one was. A new file is not synced: the cluster still has it. */
  replacing = overwrite && g_file_test (dest, G_FILE_TEST_EXISTS);
  if (down.t.error == NULL && replacing && fsync (fd) != 0)
    tsr_set_error_from_errno (&down.t.error, errno, _ ("Cannot write %s"), dest);
  /* close() may report a write the file system deferred (NFS): a hidden file is closed before
   * it takes the name. An unnamed one can only be linked while open; one that fails after
   * taking a new name is removed again, but never one that replaced the user's file (the
   * fsync above already reported what close() could). */
  if (tmp != NULL && close (g_steal_fd (&fd)) != 0 && down.t.error == NULL)
    tsr_set_error_from_errno (&down.t.error, errno, _ ("Cannot write %s"), dest);
  if (down.t.error == NULL)
    place_download (fd, dir, self->download_file, &tmp, dest, overwrite, &down.t.error);
  if (fd >= 0 && close (fd) != 0 && down.t.error == NULL)
    {
      tsr_set_error_from_errno (&down.t.error, errno, _ ("Cannot write %s"), dest);
      if (!replacing)
        g_unlink (dest);
    }

  if (down.t.error != NULL)
    {
      if (tmp != NULL)
        g_unlink (tmp);
      g_propagate_error (error, g_steal_pointer (&down.t.error));
      transfer_clear (&down.t);
      return FALSE;
    }
  transfer_progress (&down.t, 0, TRUE);
  transfer_clear (&down.t);
  return TRUE;
}

gboolean
tsr_cluster_download (TsrCluster *self, const char *file_id, GFile *destination, gboolean overwrite,
                      GCancellable *cancellable, GError **error)
{
  gboolean ok;

  g_return_val_if_fail (TSR_IS_CLUSTER (self), FALSE);
  g_return_val_if_fail (G_IS_FILE (destination), FALSE);

  begin_op (self);
  ok = do_download (self, file_id, destination, overwrite, cancellable, error);
  end_op (self);
  return ok;
}

typedef struct
{
  char *file_id;
  GFile *destination;
  gboolean overwrite;
} DownloadArgs;

static void
download_args_free (gpointer p)
{
  DownloadArgs *a = p;
  g_free (a->file_id);
  g_object_unref (a->destination);
  g_free (a);
}

static void
download_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  DownloadArgs *a = data;
  GError *error = NULL;

  tsr_priority_enter_worker ();

  if (tsr_cluster_download (source, a->file_id, a->destination, a->overwrite, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
tsr_cluster_download_async (TsrCluster *self, const char *file_id, GFile *destination,
                            gboolean overwrite, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  DownloadArgs *a = g_new0 (DownloadArgs, 1);

  a->file_id = g_strdup (file_id);
  a->destination = g_object_ref (destination);
  a->overwrite = overwrite;
  g_task_set_source_tag (task, tsr_cluster_download_async);
  /* Our own TSR_ERROR_CANCELLED, not GTask's G_IO_ERROR_CANCELLED. */
  g_task_set_check_cancellable (task, FALSE);
  g_task_set_task_data (task, a, download_args_free);
  _tsr_task_run_in_own_thread (task, download_thread);
}

gboolean
tsr_cluster_download_finish (TsrCluster *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * tsr_cluster_delete:
 *
 * Removes the manifest, then every copy of every segment. The manifest goes first: a file
 * is either listed and whole or gone, never listed with missing pieces. Copies on nodes that
 * are down stay behind as garbage for later collection.
 */
gboolean
tsr_cluster_delete (TsrCluster *self, const char *file_id, GCancellable *cancellable,
                    GError **error)
{
  g_autoptr (TsrManifest) manifest = NULL;
  g_autoptr (GError) sync_error = NULL;
  g_autofree char *path = NULL;
  guint left;

  g_return_val_if_fail (TSR_IS_CLUSTER (self), FALSE);

  manifest = tsr_cluster_get_file (self, file_id, error);
  if (manifest == NULL)
    return FALSE;
  path = manifest_path (self, file_id);
  _tsr_cluster_lock_catalog (self);
  if (g_unlink (path) != 0)
    {
      tsr_set_error_from_errno (error, errno, _ ("Cannot delete %s"), path);
      _tsr_cluster_unlock_catalog (self);
      return FALSE;
    }
  _tsr_cluster_unlock_catalog (self);
  begin_op (self);
  left = delete_segments (self, manifest, NULL);
  if (!sync_nodes (self, NULL, &sync_error))
    g_message ("%s", sync_error->message);
  end_op (self);
  if (left > 0)
    g_message ("%u copies of %s's segments are on nodes that are down; they will be collected "
               "later",
               left, manifest->name);
  emit (self, SIGNAL_FILES_CHANGED, NULL, 0, 0, 0, 0);
  return TRUE;
}

/* ---- the emulated network ---- */

TsrNetem *
tsr_cluster_get_netem (TsrCluster *self)
{
  g_return_val_if_fail (TSR_IS_CLUSTER (self), NULL);
  return self->netem;
}

/**
 * tsr_cluster_set_netem:
 * @node_id: (nullable): one node, or %NULL for all
 * @settings: the link shaping
 *
 * Changes the emulated links at once, transfers under way included, and saves them in the
 * cluster config. Works on a cluster that is not started too (the config only).
 */
gboolean
tsr_cluster_set_netem (TsrCluster *self, const char *node_id, const TsrNetemSettings *settings,
                       GError **error)
{
  gboolean found = FALSE, saved;

  g_return_val_if_fail (TSR_IS_CLUSTER (self), FALSE);
  g_return_val_if_fail (settings != NULL, FALSE);

  if (!tsr_netem_settings_validate (settings, error))
    return FALSE;
  /* The config and the members change under the lock (nodes may be added or removed
   * meanwhile); the links have their own, so transfers are not held up. */
  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->config->nodes->len; i++)
    {
      TsrNodeConfig *n = self->config->nodes->pdata[i];
      if (node_id == NULL || strcmp (n->node_id, node_id) == 0)
        {
          n->netem = *settings;
          found = TRUE;
        }
    }
  if (!found && node_id != NULL)
    {
      g_mutex_unlock (&self->lock);
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND, _ ("There is no node %s"), node_id);
      return FALSE;
    }
  for (guint i = 0; i < self->members->len; i++)
    {
      Member *m = self->members->pdata[i];
      if (node_id == NULL || strcmp (m->config->node_id, node_id) == 0)
        tsr_netem_set_settings (self->netem, m->config->node_id, settings, NULL);
    }
  saved = tsr_cluster_config_save (self->config, self->config_path, error);
  g_mutex_unlock (&self->lock);
  emit (self, SIGNAL_STATISTICS_CHANGED, NULL, 0, 0, 0, 0);
  return saved;
}

/**
 * tsr_cluster_set_netem_profile:
 * @profile: "off" or "seed"
 *
 * Every node's link to the profile: `off` (no emulation, the default) or `seed` (the original
 * design's 64 KB/s, 1-10 ms, 1 % loss).
 */
gboolean
tsr_cluster_set_netem_profile (TsrCluster *self, const char *profile, GError **error)
{
  TsrNetemSettings settings;

  g_return_val_if_fail (TSR_IS_CLUSTER (self), FALSE);

  if (g_strcmp0 (profile, "off") == 0)
    tsr_netem_settings_init_off (&settings);
  else if (g_strcmp0 (profile, "seed") == 0)
    tsr_netem_settings_init_seed (&settings);
  else
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
                   _ ("There is no profile “%s”: use off or seed"), profile ? profile : "");
      return FALSE;
    }
  return tsr_cluster_set_netem (self, NULL, &settings, error);
}

static void
add_link_stats_json (JsonBuilder *b, const TsrNetemStats *st)
{
  tsr_json_set_int (b, "packets_sent", (gint64)st->packets_sent);
  tsr_json_set_int (b, "packets_received", (gint64)st->packets_received);
  tsr_json_set_int (b, "bytes_sent", (gint64)st->bytes_sent);
  tsr_json_set_int (b, "bytes_received", (gint64)st->bytes_received);
  tsr_json_set_int (b, "packets_lost", (gint64)st->packets_lost);
  tsr_json_set_int (b, "packets_retransmitted", (gint64)st->packets_retransmitted);
  tsr_json_set_double (b, "delivery_ms_mean", st->delivery_ms_mean);
  tsr_json_set_double (b, "delivery_ms_p95", st->delivery_ms_p95);
  tsr_json_set_double (b, "send_throughput_bps", st->send_throughput_bps);
  tsr_json_set_double (b, "receive_throughput_bps", st->receive_throughput_bps);
  tsr_json_set_double (b, "emulated_ms", st->emulated_us / 1000.0);
  tsr_json_set_double (b, "backlog_ms", st->backlog_us / 1000.0);
}

/**
 * tsr_cluster_get_network_info:
 *
 * The seed's get_statistics and get_network_topology for the emulated network: the profile
 * (off, seed, custom, or mixed when the nodes differ), this client's address, per node its
 * virtual and real address, its link's settings and statistics, and the total.
 */
JsonNode *
tsr_cluster_get_network_info (TsrCluster *self)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (GPtrArray) status = tsr_cluster_dup_node_status (self);
  const char *profile = NULL;
  TsrNetemStats total;

  g_return_val_if_fail (TSR_IS_CLUSTER (self), NULL);

  for (guint i = 0; i < self->config->nodes->len; i++)
    {
      const char *p =
          tsr_netem_settings_get_profile (&((TsrNodeConfig *)self->config->nodes->pdata[i])->netem);
      profile = profile == NULL || strcmp (profile, p) == 0 ? p : "mixed";
    }
  tsr_netem_get_total_stats (self->netem, &total);
  json_builder_begin_object (b);
  tsr_json_set_string (b, "profile", profile ? profile : "off");
  tsr_json_set_string (b, "client_address", TSR_NETEM_CLIENT_ADDRESS);
  json_builder_set_member_name (b, "nodes");
  json_builder_begin_array (b);
  for (guint i = 0; i < status->len; i++)
    {
      TsrNodeStatus *s = status->pdata[i];
      json_builder_begin_object (b);
      tsr_json_set_string (b, "node_id", s->node_id);
      tsr_json_set_string (b, "virtual_address", s->virtual_address);
      tsr_json_set_string (b, "address", s->address);
      tsr_json_set_string (b, "profile", tsr_netem_settings_get_profile (&s->netem));
      json_builder_set_member_name (b, "settings");
      tsr_netem_settings_to_json (&s->netem, b);
      add_link_stats_json (b, &s->link);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "total");
  json_builder_begin_object (b);
  add_link_stats_json (b, &total);
  json_builder_end_object (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* The seed's get_system_info. */
JsonNode *
tsr_cluster_get_system_info (TsrCluster *self)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (GPtrArray) status = tsr_cluster_dup_node_status (self);
  g_autoptr (GPtrArray) files = tsr_cluster_list_files (self, NULL);
  guint64 used = 0, capacity = 0;
  guint alive = 0;

  for (guint i = 0; i < status->len; i++)
    {
      TsrNodeStatus *s = status->pdata[i];
      used += s->used_bytes;
      capacity += s->capacity_bytes;
      alive += s->alive;
    }
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "data_dir");
  json_builder_add_string_value (b, self->data_dir);
  json_builder_set_member_name (b, "client_id");
  json_builder_add_string_value (b, tsr_identity_get_id (self->identity));
  json_builder_set_member_name (b, "nodes");
  json_builder_add_int_value (b, status->len);
  json_builder_set_member_name (b, "nodes_alive");
  json_builder_add_int_value (b, alive);
  json_builder_set_member_name (b, "files");
  json_builder_add_int_value (b, files ? files->len : 0);
  json_builder_set_member_name (b, "chunk_size");
  json_builder_add_int_value (b, self->config->chunk_size);
  json_builder_set_member_name (b, "replicas");
  json_builder_add_int_value (b, self->config->replicas);
  json_builder_set_member_name (b, "total_used_bytes");
  json_builder_add_int_value (b, (gint64)used);
  json_builder_set_member_name (b, "total_capacity_bytes");
  json_builder_add_int_value (b, (gint64)capacity);
  json_builder_set_member_name (b, "total_available_bytes");
  json_builder_add_int_value (b, (gint64)MIN (tsr_node_status_sum_available (status), G_MAXINT64));
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static void
add_status_json (JsonBuilder *b, const TsrNodeStatus *s)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "node_id");
  json_builder_add_string_value (b, s->node_id);
  json_builder_set_member_name (b, "address");
  json_builder_add_string_value (b, s->address);
  tsr_json_set_string (b, "virtual_address", s->virtual_address);
  json_builder_set_member_name (b, "state");
  json_builder_add_string_value (b, tsr_node_state_to_string (s->state));
  json_builder_set_member_name (b, "alive");
  json_builder_add_boolean_value (b, s->alive);
  json_builder_set_member_name (b, "enabled");
  json_builder_add_boolean_value (b, s->enabled);
  json_builder_set_member_name (b, "embedded");
  json_builder_add_boolean_value (b, s->embedded);
  json_builder_set_member_name (b, "used_bytes");
  json_builder_add_int_value (b, (gint64)s->used_bytes);
  json_builder_set_member_name (b, "capacity_bytes");
  json_builder_add_int_value (b, (gint64)s->capacity_bytes);
  json_builder_set_member_name (b, "segments");
  json_builder_add_int_value (b, (gint64)s->segment_count);
  json_builder_set_member_name (b, "latency_ms");
  json_builder_add_double_value (b, s->latency_ms);
  json_builder_set_member_name (b, "uptime_seconds");
  json_builder_add_double_value (b, s->uptime_seconds);
  json_builder_set_member_name (b, "packets_sent");
  json_builder_add_int_value (b, (gint64)s->stats.packets_sent);
  json_builder_set_member_name (b, "packets_received");
  json_builder_add_int_value (b, (gint64)s->stats.packets_received);
  json_builder_set_member_name (b, "bytes_sent");
  json_builder_add_int_value (b, (gint64)s->stats.bytes_sent);
  json_builder_set_member_name (b, "bytes_received");
  json_builder_add_int_value (b, (gint64)s->stats.bytes_received);
  json_builder_set_member_name (b, "errors");
  json_builder_add_int_value (b, (gint64)s->stats.errors);
  json_builder_end_object (b);
}

/**
 * tsr_cluster_get_detailed_report:
 *
 * The seed's get_detailed_report: the system info, every node as the last health check saw
 * it, and every file with where each of its chunks' copies live.
 */
JsonNode *
tsr_cluster_get_detailed_report (TsrCluster *self)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (GPtrArray) status = tsr_cluster_dup_node_status (self);
  g_autoptr (GPtrArray) files = tsr_cluster_list_files (self, NULL);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "system");
  json_builder_add_value (b, tsr_cluster_get_system_info (self));
  json_builder_set_member_name (b, "nodes");
  json_builder_begin_array (b);
  for (guint i = 0; i < status->len; i++)
    add_status_json (b, status->pdata[i]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "files");
  json_builder_begin_array (b);
  for (guint i = 0; files != NULL && i < files->len; i++)
    {
      TsrManifest *m = files->pdata[i];
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "file_id");
      json_builder_add_string_value (b, m->file_id);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, m->name);
      json_builder_set_member_name (b, "size");
      json_builder_add_int_value (b, (gint64)m->size);
      json_builder_set_member_name (b, "chunks");
      json_builder_begin_array (b);
      for (guint c = 0; c < m->chunks->len; c++)
        {
          TsrManifestChunk *chunk = m->chunks->pdata[c];
          json_builder_begin_array (b);
          for (guint n = 0; n < chunk->nodes->len; n++)
            json_builder_add_string_value (b, chunk->nodes->pdata[n]);
          json_builder_end_array (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static void
tsr_cluster_dispose (GObject *object)
{
  TsrCluster *self = TSR_CLUSTER (object);

  tsr_cluster_stop (self);
  G_OBJECT_CLASS (tsr_cluster_parent_class)->dispose (object);
}

static void
tsr_cluster_finalize (GObject *object)
{
  TsrCluster *self = TSR_CLUSTER (object);

  g_thread_pool_free (self->pool, FALSE, TRUE);
  g_ptr_array_unref (self->members);
  g_clear_object (&self->netem);
  g_clear_pointer (&self->config, tsr_cluster_config_free);
  g_clear_object (&self->identity);
  g_clear_pointer (&self->master_key, tsr_key_free);
  g_clear_pointer (&self->user_key, tsr_key_free);
  g_free (self->user);
  g_clear_pointer (&self->lock_file, tsr_lock_file_release);
  g_main_context_unref (self->owner_context);
  g_free (self->data_dir);
  g_free (self->catalog_dir);
  g_free (self->config_path);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->idle_cond);
  g_rw_lock_clear (&self->segments_lock);
  g_mutex_clear (&self->catalog_lock);
  g_mutex_clear (&self->uploads_mutex);
  g_cond_clear (&self->uploads_cond);
  G_OBJECT_CLASS (tsr_cluster_parent_class)->finalize (object);
}

static void
tsr_cluster_class_init (TsrClusterClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = tsr_cluster_dispose;
  object_class->finalize = tsr_cluster_finalize;

  /**
   * TsrCluster::node-state-changed:
   * @node_id: the node
   * @state: its new #TsrNodeState
   */
  signals[SIGNAL_NODE_STATE_CHANGED] =
      g_signal_new ("node-state-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                    NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, TSR_TYPE_NODE_STATE);
  /**
   * TsrCluster::transfer-progress:
   * @cancellable: (nullable): the cancellable the transfer was started with, which tells
   *   concurrent transfers apart
   * @name: the file's name
   * @done: bytes done
   * @total: bytes in all
   * @rate: bytes per second so far
   */
  signals[SIGNAL_TRANSFER_PROGRESS] =
      g_signal_new ("transfer-progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                    NULL, NULL, G_TYPE_NONE, 5, G_TYPE_CANCELLABLE, G_TYPE_STRING, G_TYPE_UINT64,
                    G_TYPE_UINT64, G_TYPE_DOUBLE);
  signals[SIGNAL_STATISTICS_CHANGED] =
      g_signal_new ("statistics-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                    NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_FILES_CHANGED] =
      g_signal_new ("files-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                    NULL, G_TYPE_NONE, 0);
}

static void
tsr_cluster_init (TsrCluster *self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->idle_cond);
  g_rw_lock_init (&self->segments_lock);
  g_mutex_init (&self->catalog_lock);
  g_mutex_init (&self->uploads_mutex);
  g_cond_init (&self->uploads_cond);
  self->members = g_ptr_array_new_with_free_func ((GDestroyNotify)member_free);
  self->netem = tsr_netem_new ();
  /* A sixteenth of the memory: 1.5 GiB on 24 GiB, 512 MiB on 8 GiB. */
  self->cache_budget = usable_memory () / 16;
  g_debug ("Uploads keep up to %" G_GUINT64_FORMAT " bytes of first copies in the page cache",
           self->cache_budget);
  self->owner_context = g_main_context_ref_thread_default ();
  self->pool = g_thread_pool_new (pool_run, NULL, IO_THREADS, FALSE, NULL);
  self->chunk_cipher = tsr_chunk_cipher_preferred ();
}

/* For tests: how many bytes at the end of an upload keep their first copies in the nodes'
 * page cache (see upload_cache_from()). */
void
_tsr_cluster_set_cache_budget (TsrCluster *self, guint64 bytes)
{
  self->cache_budget = bytes;
}

void
_tsr_cluster_force_download_file (TsrCluster *self, TsrDownloadFile how)
{
  self->download_file = how;
}

/* Tests use it to make files the way a machine without AES-NI (or an older Tessera) did. */
void
_tsr_cluster_set_chunk_cipher (TsrCluster *self, TsrChunkCipher cipher)
{
  self->chunk_cipher = cipher;
}

/* ---- long operations on threads of their own ---- */

typedef struct
{
  GTask *task;
  GTaskThreadFunc func;
} OwnThread;

static gpointer
own_thread (gpointer data)
{
  tsr_priority_enter_worker ();
  OwnThread *o = data;

  o->func (o->task, g_task_get_source_object (o->task), g_task_get_task_data (o->task),
           g_task_get_cancellable (o->task));
  g_object_unref (o->task);
  g_free (o);
  return NULL;
}

/* Like g_task_run_in_thread(), but on a new thread rather than GIO's shared pool of about ten:
 * a transfer blocks its thread for its whole length, and GIO needs that pool for every TLS
 * handshake (glib-networking runs sync handshakes through it). Eight uploads and eight
 * downloads at once filled it, and reconnecting to a restarted node then waited forever. */
void
_tsr_task_run_in_own_thread (GTask *task, GTaskThreadFunc func)
{
  OwnThread *o = g_new (OwnThread, 1);

  o->task = g_object_ref (task);
  o->func = func;
  g_thread_unref (g_thread_new ("tsr-task", own_thread, o));
}

/* ---- for tsr-maintenance.c (tsr-cluster-private.h) ---- */

TsrNodeClient *
_tsr_cluster_dup_client (TsrCluster *self, const char *node_id)
{
  Member *m = find_member (self, node_id);
  return m != NULL ? member_dup_client (self, m) : NULL;
}

gboolean
_tsr_cluster_is_started (TsrCluster *self)
{
  return self->started;
}

GMainContext *
_tsr_cluster_get_owner_context (TsrCluster *self)
{
  return self->owner_context;
}

void
_tsr_cluster_begin_op (TsrCluster *self)
{
  begin_op (self);
}

void
_tsr_cluster_end_op (TsrCluster *self)
{
  end_op (self);
}

void
_tsr_cluster_lock_segments (TsrCluster *self, gboolean exclusive)
{
  if (exclusive)
    g_rw_lock_writer_lock (&self->segments_lock);
  else
    g_rw_lock_reader_lock (&self->segments_lock);
}

void
_tsr_cluster_unlock_segments (TsrCluster *self, gboolean exclusive)
{
  if (exclusive)
    g_rw_lock_writer_unlock (&self->segments_lock);
  else
    g_rw_lock_reader_unlock (&self->segments_lock);
}

void
_tsr_cluster_lock_catalog (TsrCluster *self)
{
  g_mutex_lock (&self->catalog_lock);
}

void
_tsr_cluster_unlock_catalog (TsrCluster *self)
{
  g_mutex_unlock (&self->catalog_lock);
}

void
_tsr_cluster_emit_progress (TsrCluster *self, const char *name, guint64 done, guint64 total)
{
  emit (self, SIGNAL_TRANSFER_PROGRESS, name, 0, done, total, 0);
}

void
_tsr_cluster_emit_files_changed (TsrCluster *self)
{
  emit (self, SIGNAL_FILES_CHANGED, NULL, 0, 0, 0, 0);
}

/* Marks @node_id as being removed (or no longer): from then on no upload, repair or rebalance
 * puts a new copy on it, so that none lands there between its drain and its removal. */
void
_tsr_cluster_set_draining (TsrCluster *self, const char *node_id, gboolean draining)
{
  Member *m;

  g_mutex_lock (&self->lock);
  m = find_member (self, node_id);
  if (m != NULL)
    m->draining = draining;
  g_mutex_unlock (&self->lock);
}

gboolean
_tsr_cluster_is_draining (TsrCluster *self, const char *node_id)
{
  Member *m;
  gboolean draining;

  g_mutex_lock (&self->lock);
  m = find_member (self, node_id);
  draining = m != NULL && m->draining;
  g_mutex_unlock (&self->lock);
  return draining;
}

/* Takes a drained node out: stops it, forgets it and saves the config. Waits until no
 * transfer is running, since they hold pointers to members; new ones wait on the lock. */
gboolean
_tsr_cluster_remove_member (TsrCluster *self, const char *node_id, GError **error)
{
  Member *m = find_member (self, node_id);
  Member *removed = NULL;
  gboolean saved;

  if (m == NULL || tsr_cluster_config_find (self->config, node_id) == NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND, _ ("There is no node %s"), node_id);
      return FALSE;
    }
  g_mutex_lock (&self->lock);
  while (self->active > 0)
    g_cond_wait (&self->idle_cond, &self->lock);
  removed = g_ptr_array_steal_index (self->members, member_index (self, m));
  g_mutex_unlock (&self->lock);
  /* The config owns the member's TsrNodeConfig: free the member (stopping its node, closing
   * its store) while that is still valid. */
  member_free (removed);
  g_mutex_lock (&self->lock);
  while (self->active > 0)
    g_cond_wait (&self->idle_cond, &self->lock);
  tsr_netem_remove_link (self->netem, node_id);
  for (guint i = 0; i < self->config->nodes->len; i++)
    if (g_strcmp0 (((TsrNodeConfig *)self->config->nodes->pdata[i])->node_id, node_id) == 0)
      {
        g_ptr_array_remove_index (self->config->nodes, i);
        break;
      }
  saved = tsr_cluster_config_save (self->config, self->config_path, error);
  g_mutex_unlock (&self->lock);
  if (!saved)
    return FALSE;
  emit (self, SIGNAL_STATISTICS_CHANGED, NULL, 0, 0, 0, 0);
  return TRUE;
}
