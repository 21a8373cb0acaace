/* tsr-enroll-dialog.c: two-factor enrollment with a QR code and backup codes
 *
 * Enrollment begins when the dialog opens (a new secret each time), is confirmed with a code
 * from the app, and ends on the backup codes, which are shown once, with copy and save.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "tsr-enroll-dialog.h"

struct _TsrEnrollDialog
{
  AdwWindow parent_instance;

  GtkStack *stack;
  TsrQrCode *qr_code;
  AdwActionRow *secret_row;
  AdwEntryRow *code_row;
  GtkLabel *error_label;
  GtkLabel *codes_label;

  TsrBackend *backend;
  TsrOtpEnrollment *enrollment;
  gboolean busy;
};

G_DEFINE_FINAL_TYPE (TsrEnrollDialog, tsr_enroll_dialog, ADW_TYPE_WINDOW)

static void
show_error (TsrEnrollDialog *self, const char *message)
{
  gtk_label_set_text (self->error_label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), message != NULL);
}

static char *
codes_text (TsrEnrollDialog *self)
{
  return g_strjoinv ("\n", self->enrollment->backup_codes);
}

static void
on_begun (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (TsrEnrollDialog) self = data;
  g_autoptr (GError) error = NULL;
  g_autofree char *codes = NULL;

  self->enrollment = tsr_backend_otp_begin_finish (TSR_BACKEND (source), result, &error);
  gtk_stack_set_visible_child_name (self->stack, "scan");
  if (self->enrollment == NULL)
    {
      show_error (self, error->message);
      return;
    }
  tsr_qr_code_set_text (self->qr_code, self->enrollment->uri);
  adw_action_row_set_subtitle (self->secret_row, self->enrollment->secret);
  codes = codes_text (self);
  gtk_label_set_text (self->codes_label, codes);
  gtk_widget_grab_focus (GTK_WIDGET (self->code_row));
}

static void
on_confirmed (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (TsrEnrollDialog) self = data;
  g_autoptr (GError) error = NULL;

  self->busy = FALSE;
  if (!tsr_backend_otp_confirm_finish (TSR_BACKEND (source), result, &error))
    {
      show_error (self, error->message);
      gtk_editable_set_text (GTK_EDITABLE (self->code_row), "");
      return;
    }
  show_error (self, NULL);
  gtk_stack_set_visible_child_name (self->stack, "codes");
}

/* Confirms with @code, as typing it and pressing the button does. */
void
tsr_enroll_dialog_confirm (TsrEnrollDialog *self, const char *code)
{
  g_return_if_fail (TSR_IS_ENROLL_DIALOG (self));

  if (self->busy || self->enrollment == NULL)
    return;
  code = code != NULL ? code : gtk_editable_get_text (GTK_EDITABLE (self->code_row));
  if (*code == '\0')
    {
      show_error (self, _ ("Enter the 6-digit code the app shows."));
      return;
    }
  self->busy = TRUE;
  tsr_backend_otp_confirm_async (self->backend, code, NULL, on_confirmed, g_object_ref (self));
}

static void
confirm_action (GtkWidget *widget, const char *action, GVariant *param)
{
  tsr_enroll_dialog_confirm (TSR_ENROLL_DIALOG (widget), NULL);
}

static void
copy_secret_action (GtkWidget *widget, const char *action, GVariant *param)
{
  TsrEnrollDialog *self = TSR_ENROLL_DIALOG (widget);

  if (self->enrollment != NULL)
    gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), self->enrollment->secret);
}

static void
copy_codes_action (GtkWidget *widget, const char *action, GVariant *param)
{
  TsrEnrollDialog *self = TSR_ENROLL_DIALOG (widget);
  g_autofree char *codes = NULL;

  if (self->enrollment == NULL)
    return;
  codes = codes_text (self);
  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), codes);
}

static void
on_codes_saved (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (TsrEnrollDialog) self = data;
  g_autoptr (GError) error = NULL;

  if (!g_file_replace_contents_finish (G_FILE (source), result, NULL, &error))
    show_error (self, error->message);
}

static void
on_save_response (GtkNativeDialog *dialog, int response, gpointer data)
{
  g_autoptr (TsrEnrollDialog) self = data;

  if (response == GTK_RESPONSE_ACCEPT && self->enrollment != NULL)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      char *codes = codes_text (self);
      g_autoptr (GBytes) bytes = g_bytes_new_take (codes, strlen (codes));
      /* Private: only the user may read the codes. */
      g_file_replace_contents_bytes_async (file, bytes, NULL, FALSE, G_FILE_CREATE_PRIVATE, NULL,
                                           on_codes_saved, g_object_ref (self));
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
}

static void
save_codes_action (GtkWidget *widget, const char *action, GVariant *param)
{
  GtkFileChooserNative *dialog;

  dialog = gtk_file_chooser_native_new (_ ("Save Backup Codes"), GTK_WINDOW (widget),
                                        GTK_FILE_CHOOSER_ACTION_SAVE, _ ("_Save"), _ ("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), "tessera-backup-codes.txt");
  g_signal_connect (dialog, "response", G_CALLBACK (on_save_response), g_object_ref (widget));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
tsr_enroll_dialog_dispose (GObject *object)
{
  TsrEnrollDialog *self = TSR_ENROLL_DIALOG (object);

  g_clear_pointer (&self->enrollment, tsr_otp_enrollment_free);
  g_clear_object (&self->backend);
  gtk_widget_dispose_template (GTK_WIDGET (self), TSR_TYPE_ENROLL_DIALOG);
  G_OBJECT_CLASS (tsr_enroll_dialog_parent_class)->dispose (object);
}

static void
tsr_enroll_dialog_class_init (TsrEnrollDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tsr_enroll_dialog_dispose;
  g_type_ensure (TSR_TYPE_QR_CODE);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/tessera/Tessera/tsr-enroll-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, TsrEnrollDialog, stack);
  gtk_widget_class_bind_template_child (widget_class, TsrEnrollDialog, qr_code);
  gtk_widget_class_bind_template_child (widget_class, TsrEnrollDialog, secret_row);
  gtk_widget_class_bind_template_child (widget_class, TsrEnrollDialog, code_row);
  gtk_widget_class_bind_template_child (widget_class, TsrEnrollDialog, error_label);
  gtk_widget_class_bind_template_child (widget_class, TsrEnrollDialog, codes_label);
  gtk_widget_class_install_action (widget_class, "enroll.confirm", NULL, confirm_action);
  gtk_widget_class_install_action (widget_class, "enroll.copy-secret", NULL, copy_secret_action);
  gtk_widget_class_install_action (widget_class, "enroll.copy-codes", NULL, copy_codes_action);
  gtk_widget_class_install_action (widget_class, "enroll.save-codes", NULL, save_codes_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
tsr_enroll_dialog_init (TsrEnrollDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  g_signal_connect_swapped (self->code_row, "entry-activated", G_CALLBACK (confirm_action), self);
}

TsrEnrollDialog *
tsr_enroll_dialog_new (GtkWindow *parent, TsrBackend *backend)
{
  TsrEnrollDialog *self = g_object_new (TSR_TYPE_ENROLL_DIALOG, "transient-for", parent, NULL);

  self->backend = g_object_ref (backend);
  tsr_backend_otp_begin_async (backend, NULL, on_begun, g_object_ref (self));
  return self;
}

TsrQrCode *
tsr_enroll_dialog_get_qr_code (TsrEnrollDialog *self)
{
  g_return_val_if_fail (TSR_IS_ENROLL_DIALOG (self), NULL);
  return self->qr_code;
}

/* The key as shown under the QR code, or %NULL before it arrives. */
const char *
tsr_enroll_dialog_get_secret (TsrEnrollDialog *self)
{
  g_return_val_if_fail (TSR_IS_ENROLL_DIALOG (self), NULL);
  return self->enrollment != NULL ? adw_action_row_get_subtitle (self->secret_row) : NULL;
}

/* "loading", "scan" or "codes". */
const char *
tsr_enroll_dialog_get_page (TsrEnrollDialog *self)
{
  g_return_val_if_fail (TSR_IS_ENROLL_DIALOG (self), NULL);
  return gtk_stack_get_visible_child_name (self->stack);
}

const char *
tsr_enroll_dialog_get_error (TsrEnrollDialog *self)
{
  g_return_val_if_fail (TSR_IS_ENROLL_DIALOG (self), NULL);
  return gtk_widget_get_visible (GTK_WIDGET (self->error_label))
             ? gtk_label_get_text (self->error_label)
             : NULL;
}

/* The backup codes as shown, one a line. */
const char *
tsr_enroll_dialog_get_backup_codes (TsrEnrollDialog *self)
{
  g_return_val_if_fail (TSR_IS_ENROLL_DIALOG (self), NULL);
  return gtk_label_get_text (self->codes_label);
}
