/* tsr-qr-code.c: a QR code drawn module by module, crisp at any size
 *
 * GTK 4.8 scales textures only with linear filtering, which blurs module edges. Drawing each
 * dark module as a rectangle at a whole number of pixels keeps the code sharp whatever the
 * widget's size, which is what a phone camera needs.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>
#include <qrencode.h>

#include "tsr-qr-code.h"

#define QUIET_ZONE 4 /* modules of white margin the standard asks for */

struct _TsrQrCode
{
  GtkWidget parent_instance;
  char *text;
  QRcode *code;
};

G_DEFINE_FINAL_TYPE (TsrQrCode, tsr_qr_code, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_TEXT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
tsr_qr_code_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  TsrQrCode *self = TSR_QR_CODE (widget);
  static const GdkRGBA white = { 1, 1, 1, 1 }, black = { 0, 0, 0, 1 };
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  int n, module, x0, y0;

  if (self->code == NULL)
    return;
  n = self->code->width + 2 * QUIET_ZONE;
  module = MIN (w, h) / n;
  if (module < 1)
    return;
  x0 = (w - module * n) / 2;
  y0 = (h - module * n) / 2;
  gtk_snapshot_append_color (snapshot, &white,
                             &GRAPHENE_RECT_INIT (x0, y0, module * n, module * n));
  for (int y = 0; y < self->code->width; y++)
    for (int x = 0; x < self->code->width; x++)
      if (self->code->data[y * self->code->width + x] & 1)
        gtk_snapshot_append_color (snapshot, &black,
                                   &GRAPHENE_RECT_INIT (x0 + (x + QUIET_ZONE) * module,
                                                        y0 + (y + QUIET_ZONE) * module, module,
                                                        module));
}

static void
tsr_qr_code_measure (GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum,
                     int *natural, int *minimum_baseline, int *natural_baseline)
{
  TsrQrCode *self = TSR_QR_CODE (widget);
  int n = self->code != NULL ? self->code->width + 2 * QUIET_ZONE : 0;

  /* At least two pixels a module; six by default, a comfortable size for a phone camera. */
  *minimum = 2 * n;
  *natural = 6 * n;
}

static GtkSizeRequestMode
tsr_qr_code_get_request_mode (GtkWidget *widget)
{
  return GTK_SIZE_REQUEST_CONSTANT_SIZE;
}

static void
tsr_qr_code_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  TsrQrCode *self = TSR_QR_CODE (object);

  switch (prop_id)
    {
      case PROP_TEXT:
        g_value_set_string (value, self->text);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tsr_qr_code_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  TsrQrCode *self = TSR_QR_CODE (object);

  switch (prop_id)
    {
      case PROP_TEXT:
        tsr_qr_code_set_text (self, g_value_get_string (value));
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tsr_qr_code_finalize (GObject *object)
{
  TsrQrCode *self = TSR_QR_CODE (object);

  g_free (self->text);
  g_clear_pointer (&self->code, QRcode_free);
  G_OBJECT_CLASS (tsr_qr_code_parent_class)->finalize (object);
}

static void
tsr_qr_code_class_init (TsrQrCodeClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = tsr_qr_code_get_property;
  object_class->set_property = tsr_qr_code_set_property;
  object_class->finalize = tsr_qr_code_finalize;
  widget_class->snapshot = tsr_qr_code_snapshot;
  widget_class->measure = tsr_qr_code_measure;
  widget_class->get_request_mode = tsr_qr_code_get_request_mode;

  properties[PROP_TEXT] =
      g_param_spec_string ("text", NULL, NULL, NULL,
                           G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
  gtk_widget_class_set_css_name (widget_class, "qrcode");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
tsr_qr_code_init (TsrQrCode *self)
{
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _ ("QR code to scan with an authenticator app"), -1);
}

GtkWidget *
tsr_qr_code_new (void)
{
  return g_object_new (TSR_TYPE_QR_CODE, NULL);
}

void
tsr_qr_code_set_text (TsrQrCode *self, const char *text)
{
  g_return_if_fail (TSR_IS_QR_CODE (self));

  if (g_strcmp0 (self->text, text) == 0)
    return;
  g_free (self->text);
  self->text = g_strdup (text);
  g_clear_pointer (&self->code, QRcode_free);
  if (text != NULL)
    self->code = QRcode_encodeString (text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
  gtk_widget_queue_resize (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TEXT]);
}

const char *
tsr_qr_code_get_text (TsrQrCode *self)
{
  g_return_val_if_fail (TSR_IS_QR_CODE (self), NULL);
  return self->text;
}
