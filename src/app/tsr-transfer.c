/* tsr-transfer.c: one running upload or download, for its progress row
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "tsr-transfer.h"

struct _TsrTransfer
{
  GObject parent_instance;
  TsrTransferKind kind;
  char *name;
  GCancellable *cancellable;
  guint64 done, total;
  double rate;
  gboolean started; /* its first progress came: uploads wait their turn (tsr-cluster.c) */
};

G_DEFINE_FINAL_TYPE (TsrTransfer, tsr_transfer, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_NAME,
  PROP_FRACTION,
  PROP_STATUS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static char *
status_text (TsrTransfer *self)
{
  g_autofree char *done = g_format_size (self->done);
  g_autofree char *total = g_format_size (self->total);
  g_autofree char *rate = g_format_size ((guint64)self->rate);

  if (g_cancellable_is_cancelled (self->cancellable))
    return g_strdup (_ ("Cancelling…"));
  if (!self->started)
    /* Translators: a transfer that waits for others to finish */
    return g_strdup (_ ("Waiting…"));
  /* Translators: "12 MB of 1.0 GB · 85 MB/s" */
  return g_strdup_printf (_ ("%s of %s · %s/s"), done, total, rate);
}

static void
tsr_transfer_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  TsrTransfer *self = TSR_TRANSFER (object);

  switch (prop_id)
    {
      case PROP_NAME:
        g_value_set_string (value, self->name);
        break;
      case PROP_FRACTION:
        g_value_set_double (value, self->total > 0 ? (double)self->done / self->total : 0);
        break;
      case PROP_STATUS:
        g_value_take_string (value, status_text (self));
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tsr_transfer_finalize (GObject *object)
{
  TsrTransfer *self = TSR_TRANSFER (object);

  g_free (self->name);
  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (tsr_transfer_parent_class)->finalize (object);
}

static void
tsr_transfer_class_init (TsrTransferClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

  object_class->get_property = tsr_transfer_get_property;
  object_class->finalize = tsr_transfer_finalize;

  properties[PROP_NAME] = g_param_spec_string ("name", NULL, NULL, NULL, ro);
  properties[PROP_FRACTION] = g_param_spec_double ("fraction", NULL, NULL, 0, 1, 0, ro);
  properties[PROP_STATUS] = g_param_spec_string ("status", NULL, NULL, NULL, ro);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tsr_transfer_init (TsrTransfer *self)
{
  self->cancellable = g_cancellable_new ();
}

TsrTransfer *
tsr_transfer_new (TsrTransferKind kind, const char *name, guint64 total)
{
  TsrTransfer *self = g_object_new (TSR_TYPE_TRANSFER, NULL);

  self->kind = kind;
  self->name = g_strdup (name);
  self->total = total;
  return self;
}

TsrTransferKind
tsr_transfer_get_kind (TsrTransfer *self)
{
  g_return_val_if_fail (TSR_IS_TRANSFER (self), TSR_TRANSFER_UPLOAD);
  return self->kind;
}

const char *
tsr_transfer_get_name (TsrTransfer *self)
{
  g_return_val_if_fail (TSR_IS_TRANSFER (self), NULL);
  return self->name;
}

GCancellable *
tsr_transfer_get_cancellable (TsrTransfer *self)
{
  g_return_val_if_fail (TSR_IS_TRANSFER (self), NULL);
  return self->cancellable;
}

void
tsr_transfer_cancel (TsrTransfer *self)
{
  g_return_if_fail (TSR_IS_TRANSFER (self));
  g_cancellable_cancel (self->cancellable);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS]);
}

guint64
tsr_transfer_get_done (TsrTransfer *self)
{
  g_return_val_if_fail (TSR_IS_TRANSFER (self), 0);
  return self->done;
}

void
tsr_transfer_set_progress (TsrTransfer *self, guint64 done, guint64 total, double rate)
{
  g_return_if_fail (TSR_IS_TRANSFER (self));
  /* Cancelled, it says so and stands still: what was in flight may still land, but the bar
   * moving on read as if the cancel had not been taken. */
  if (g_cancellable_is_cancelled (self->cancellable))
    return;
  self->started = TRUE;
  self->done = done;
  self->total = total;
  self->rate = rate;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FRACTION]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS]);
}
