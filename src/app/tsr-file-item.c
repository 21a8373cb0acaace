/* tsr-file-item.c: one stored file, as the file list shows it
 *
 * The display strings are properties so the column view's templates bind to them and follow
 * changes (health moves with the node states) without code in the list.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "tsr-file-item.h"

struct _TsrFileItem
{
  GObject parent_instance;
  TsrManifest *manifest; /* a summary (tsr_cluster_list_file_summaries()) or a whole one */
  guint generation;
  TsrFileHealthInfo health;
};

G_DEFINE_FINAL_TYPE (TsrFileItem, tsr_file_item, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_NAME,
  PROP_FILE_ID,
  PROP_SIZE,
  PROP_SIZE_TEXT,
  PROP_CHUNKS,
  PROP_CHUNKS_TEXT,
  PROP_HEALTH_TEXT,
  PROP_CREATED,
  PROP_CREATED_TEXT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static char *
health_text (TsrFileItem *self)
{
  switch (self->health.state)
    {
      case TSR_FILE_HEALTHY:
        return g_strdup_printf (ngettext ("Healthy · survives %u node loss",
                                          "Healthy · survives %u node losses",
                                          self->health.survives),
                                self->health.survives);
      case TSR_FILE_DEGRADED:
        return g_strdup_printf (ngettext ("Degraded · %u of %u copies",
                                          "Degraded · %u of %u copies", self->health.replicas),
                                self->health.min_copies, self->health.replicas);
      case TSR_FILE_LOST:
      default:
        return g_strdup (_ ("Unavailable: a node holding it is down"));
    }
}

static void
tsr_file_item_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  TsrFileItem *self = TSR_FILE_ITEM (object);
  const TsrManifest *m = self->manifest;

  switch (prop_id)
    {
      case PROP_NAME:
        g_value_set_string (value, m->name);
        break;
      case PROP_FILE_ID:
        g_value_set_string (value, m->file_id);
        break;
      case PROP_SIZE:
        g_value_set_uint64 (value, m->size);
        break;
      case PROP_SIZE_TEXT:
        g_value_take_string (value, g_format_size (m->size));
        break;
      case PROP_CHUNKS:
        g_value_set_uint64 (value, m->chunk_count);
        break;
      case PROP_CHUNKS_TEXT:
        g_value_take_string (value, g_strdup_printf ("%" G_GUINT64_FORMAT, m->chunk_count));
        break;
      case PROP_HEALTH_TEXT:
        g_value_take_string (value, health_text (self));
        break;
      case PROP_CREATED:
        g_value_set_int64 (value, m->created_at);
        break;
      case PROP_CREATED_TEXT:
        {
          g_autoptr (GDateTime) utc = g_date_time_new_from_unix_utc (m->created_at);
          g_autoptr (GDateTime) local = utc != NULL ? g_date_time_to_local (utc) : NULL;
          g_value_take_string (value,
                               local != NULL ? g_date_time_format (local, "%x %H:%M") : NULL);
        }
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tsr_file_item_finalize (GObject *object)
{
  TsrFileItem *self = TSR_FILE_ITEM (object);

  tsr_manifest_free (self->manifest);
  G_OBJECT_CLASS (tsr_file_item_parent_class)->finalize (object);
}

static void
tsr_file_item_class_init (TsrFileItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

  object_class->get_property = tsr_file_item_get_property;
  object_class->finalize = tsr_file_item_finalize;

  properties[PROP_NAME] = g_param_spec_string ("name", NULL, NULL, NULL, ro);
  properties[PROP_FILE_ID] = g_param_spec_string ("file-id", NULL, NULL, NULL, ro);
  properties[PROP_SIZE] = g_param_spec_uint64 ("size", NULL, NULL, 0, G_MAXUINT64, 0, ro);
  properties[PROP_SIZE_TEXT] = g_param_spec_string ("size-text", NULL, NULL, NULL, ro);
  properties[PROP_CHUNKS] = g_param_spec_uint64 ("chunks", NULL, NULL, 0, G_MAXUINT64, 0, ro);
  properties[PROP_CHUNKS_TEXT] = g_param_spec_string ("chunks-text", NULL, NULL, NULL, ro);
  properties[PROP_HEALTH_TEXT] = g_param_spec_string ("health-text", NULL, NULL, NULL, ro);
  properties[PROP_CREATED] =
      g_param_spec_int64 ("created", NULL, NULL, G_MININT64, G_MAXINT64, 0, ro);
  properties[PROP_CREATED_TEXT] = g_param_spec_string ("created-text", NULL, NULL, NULL, ro);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tsr_file_item_init (TsrFileItem *self)
{
}

/**
 * tsr_file_item_new:
 * @manifest: (transfer full): the file's manifest or its summary
 */
TsrFileItem *
tsr_file_item_new (TsrManifest *manifest)
{
  TsrFileItem *self = g_object_new (TSR_TYPE_FILE_ITEM, NULL);

  self->manifest = manifest;
  self->health.replicas = self->health.min_copies = manifest->replicas;
  self->health.survives = manifest->replicas > 0 ? manifest->replicas - 1 : 0;
  return self;
}

/* Whether two summaries say the same about where the chunks are (whole manifests: never
 * assumed). */
static gboolean
same_placements (const TsrManifest *a, const TsrManifest *b)
{
  if (a->placements == NULL || b->placements == NULL || a->layout != b->layout ||
      a->placements->len != b->placements->len)
    return FALSE;
  for (guint i = 0; i < a->placements->len; i++)
    {
      const TsrManifestPlacement *pa = a->placements->pdata[i], *pb = b->placements->pdata[i];

      if (pa->chunks != pb->chunks || pa->nodes->len != pb->nodes->len)
        return FALSE;
      for (guint j = 0; j < pa->nodes->len; j++)
        if (strcmp (pa->nodes->pdata[j], pb->nodes->pdata[j]) != 0)
          return FALSE;
    }
  return TRUE;
}

/**
 * tsr_file_item_set_manifest:
 * @manifest: (transfer full): a newer manifest of the same file, e.g. after a repair moved
 *   copies; call tsr_file_item_update_health() next
 */
void
tsr_file_item_set_manifest (TsrFileItem *self, TsrManifest *manifest)
{
  g_return_if_fail (TSR_IS_FILE_ITEM (self));
  g_return_if_fail (g_strcmp0 (manifest->file_id, self->manifest->file_id) == 0);

  if (!same_placements (self->manifest, manifest))
    self->generation++;
  tsr_manifest_free (self->manifest);
  self->manifest = manifest;
}

/* Counts tsr_file_item_set_manifest() calls that moved chunks: what was read of the file
 * before is stale once this changes. */
guint
tsr_file_item_get_generation (TsrFileItem *self)
{
  g_return_val_if_fail (TSR_IS_FILE_ITEM (self), 0);
  return self->generation;
}

const TsrManifest *
tsr_file_item_get_manifest (TsrFileItem *self)
{
  g_return_val_if_fail (TSR_IS_FILE_ITEM (self), NULL);
  return self->manifest;
}

const char *
tsr_file_item_get_file_id (TsrFileItem *self)
{
  g_return_val_if_fail (TSR_IS_FILE_ITEM (self), NULL);
  return self->manifest->file_id;
}

const char *
tsr_file_item_get_name (TsrFileItem *self)
{
  g_return_val_if_fail (TSR_IS_FILE_ITEM (self), NULL);
  return self->manifest->name;
}

TsrFileHealthState
tsr_file_item_get_health (TsrFileItem *self)
{
  g_return_val_if_fail (TSR_IS_FILE_ITEM (self), TSR_FILE_LOST);
  return self->health.state;
}

/* How many more node losses the file survives right now. */
guint
tsr_file_item_get_tolerance (TsrFileItem *self)
{
  g_return_val_if_fail (TSR_IS_FILE_ITEM (self), 0);
  return self->health.survives;
}

/**
 * tsr_file_item_update_health:
 *
 * Takes the file's health from the cluster's last node states (no I/O).
 */
void
tsr_file_item_update_health (TsrFileItem *self, TsrCluster *cluster)
{
  TsrFileHealthInfo health;

  g_return_if_fail (TSR_IS_FILE_ITEM (self));

  tsr_cluster_get_file_health (cluster, self->manifest, &health);
  if (memcmp (&health, &self->health, sizeof health) != 0)
    {
      self->health = health;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HEALTH_TEXT]);
    }
}
