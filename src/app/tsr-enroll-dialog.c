/* tsr-enroll-dialog.c: two-factor enrollment with a QR code and backup codes
 *
 * Enrollment begins when the dialog opens (a new secret each time), is confirmed with a code
 * from the app and the password (and, to switch from a working authenticator, a code from it or
 * a backup code: a session left open must not be enough to put another app on the account), and
 * ends on the backup codes, which are shown once, with copy and save. Confirming runs on the
 * backend's worker thread; the password and codes leave their rows when it ends.
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
  AdwEntryRow *password_row;
  AdwEntryRow *current_code_row;
  GtkButton *confirm_button;
  GtkLabel *error_label;
  GtkLabel *codes_label;
  GtkLabel *saved_label; /* under the codes: where they were saved, or why not */

  TsrBackend *backend;
  TsrOtpEnrollment *enrollment;
  gboolean switching; /* two-factor is on: confirming replaces the working authenticator */
  gboolean busy;
};

G_DEFINE_FINAL_TYPE (TsrEnrollDialog, tsr_enroll_dialog, ADW_TYPE_WINDOW)

static void
show_error (TsrEnrollDialog *self, const char *message)
{
  gtk_label_set_text (self->error_label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), message != NULL);
}

/* The rows confirming needs, in the order they are filled in. */
static void
secret_rows (TsrEnrollDialog *self, GtkEditable *rows[3])
{
  rows[0] = GTK_EDITABLE (self->code_row);
  rows[1] = GTK_EDITABLE (self->password_row);
  rows[2] = self->switching ? GTK_EDITABLE (self->current_code_row) : NULL;
}

/* The first needed row still empty, or %NULL when all are filled. */
static GtkEditable *
empty_row (TsrEnrollDialog *self)
{
  GtkEditable *rows[3];

  secret_rows (self, rows);
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    if (rows[i] != NULL && *gtk_editable_get_text (rows[i]) == '\0')
      return rows[i];
  return NULL;
}

static void
update_confirm (TsrEnrollDialog *self)
{
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "enroll.confirm",
                                 self->enrollment != NULL && !self->busy &&
                                     empty_row (self) == NULL);
}

static void
clear_secret_rows (TsrEnrollDialog *self)
{
  GtkEditable *rows[3];

  secret_rows (self, rows);
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    if (rows[i] != NULL)
      gtk_editable_set_text (rows[i], "");
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

  if (self->backend == NULL) /* the dialog was closed */
    return;
  self->enrollment = tsr_backend_otp_begin_finish (TSR_BACKEND (source), result, &error);
  gtk_stack_set_visible_child_name (self->stack, "scan");
  update_confirm (self);
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

  if (self->backend == NULL) /* the dialog was closed */
    return;
  self->busy = FALSE;
  /* Whatever the outcome, the password and the codes are spent or to be typed afresh. */
  clear_secret_rows (self);
  update_confirm (self);
  if (!tsr_backend_otp_confirm_finish (TSR_BACKEND (source), result, &error))
    {
      show_error (self, error->message);
      gtk_widget_grab_focus (GTK_WIDGET (self->code_row));
      return;
    }
  show_error (self, NULL);
  gtk_stack_set_visible_child_name (self->stack, "codes");
}

static void
confirm_action (GtkWidget *widget, const char *action, GVariant *param)
{
  TsrEnrollDialog *self = TSR_ENROLL_DIALOG (widget);
  const char *current_code = gtk_editable_get_text (GTK_EDITABLE (self->current_code_row));

  if (self->busy || self->enrollment == NULL || empty_row (self) != NULL)
    return;
  self->busy = TRUE;
  update_confirm (self);
  show_error (self, NULL);
  /* The backend takes copies, and wipes them when the check ends. */
  tsr_backend_otp_confirm_async (
      self->backend, gtk_editable_get_text (GTK_EDITABLE (self->password_row)),
      self->switching ? current_code : NULL, gtk_editable_get_text (GTK_EDITABLE (self->code_row)),
      NULL, on_confirmed, g_object_ref (self));
}

/* Enter in a row: confirms once all are filled in, else goes on to the next empty one. */
static void
on_entry_activated (TsrEnrollDialog *self)
{
  GtkEditable *empty = empty_row (self);

  if (empty != NULL)
    gtk_widget_grab_focus (GTK_WIDGET (empty));
  else
    gtk_widget_activate_action (GTK_WIDGET (self), "enroll.confirm", NULL);
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
show_saved (TsrEnrollDialog *self, const char *text, gboolean is_error)
{
  gtk_label_set_text (self->saved_label, text);
  gtk_widget_set_visible (GTK_WIDGET (self->saved_label), TRUE);
  if (is_error)
    gtk_widget_add_css_class (GTK_WIDGET (self->saved_label), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->saved_label), "error");
}

static void
on_codes_saved (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (TsrEnrollDialog) self = data;
  g_autoptr (GError) error = NULL;
  g_autofree char *uri = g_file_get_uri (G_FILE (source));
  g_autofree char *name = NULL;
  g_autofree char *text = NULL;

  /* The file chooser lists what it saved among the recent files, for anyone at the desktop
   * to find: backup codes are not to be found that way. */
  gtk_recent_manager_remove_item (gtk_recent_manager_get_default (), uri, NULL);
  if (!g_file_replace_contents_finish (G_FILE (source), result, NULL, &error))
    {
      show_saved (self, error->message, TRUE);
      return;
    }
  name = g_file_get_parse_name (G_FILE (source));
  /* Translators: "Saved to /home/ada/tessera-backup-codes.txt" */
  text = g_strdup_printf (_ ("Saved to %s"), name);
  show_saved (self, text, FALSE);
}

/**
 * tsr_enroll_dialog_save_codes:
 * @file: where to
 *
 * Saves the backup codes to @file, readable by the user alone, one a line; the dialog says
 * where, or why not. What the Save button does once a file is chosen.
 */
void
tsr_enroll_dialog_save_codes (TsrEnrollDialog *self, GFile *file)
{
  g_autofree char *codes = NULL;
  GBytes *bytes;

  g_return_if_fail (TSR_IS_ENROLL_DIALOG (self));
  if (self->enrollment == NULL)
    return;
  codes = codes_text (self);
  bytes = g_bytes_new_take (g_strconcat (codes, "\n", NULL), strlen (codes) + 1);
  /* Private: only the user may read the codes. */
  g_file_replace_contents_bytes_async (file, bytes, NULL, FALSE, G_FILE_CREATE_PRIVATE, NULL,
                                       on_codes_saved, g_object_ref (self));
  g_bytes_unref (bytes);
}

static void
on_save_response (GtkNativeDialog *dialog, int response, gpointer data)
{
  g_autoptr (TsrEnrollDialog) self = data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      tsr_enroll_dialog_save_codes (self, file);
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
  gtk_widget_class_bind_template_child (widget_class, TsrEnrollDialog, password_row);
  gtk_widget_class_bind_template_child (widget_class, TsrEnrollDialog, current_code_row);
  gtk_widget_class_bind_template_child (widget_class, TsrEnrollDialog, confirm_button);
  gtk_widget_class_bind_template_child (widget_class, TsrEnrollDialog, error_label);
  gtk_widget_class_bind_template_child (widget_class, TsrEnrollDialog, codes_label);
  gtk_widget_class_bind_template_child (widget_class, TsrEnrollDialog, saved_label);
  gtk_widget_class_install_action (widget_class, "enroll.confirm", NULL, confirm_action);
  gtk_widget_class_install_action (widget_class, "enroll.copy-secret", NULL, copy_secret_action);
  gtk_widget_class_install_action (widget_class, "enroll.copy-codes", NULL, copy_codes_action);
  gtk_widget_class_install_action (widget_class, "enroll.save-codes", NULL, save_codes_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
tsr_enroll_dialog_init (TsrEnrollDialog *self)
{
  AdwEntryRow *rows[3];

  gtk_widget_init_template (GTK_WIDGET (self));
  rows[0] = self->code_row;
  rows[1] = self->password_row;
  rows[2] = self->current_code_row;
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_signal_connect_swapped (rows[i], "entry-activated", G_CALLBACK (on_entry_activated), self);
      g_signal_connect_swapped (rows[i], "changed", G_CALLBACK (update_confirm), self);
    }
  update_confirm (self);
}

/**
 * tsr_enroll_dialog_new:
 *
 * Begins an enrollment for the signed-in user. When two-factor is on already, confirming it
 * switches to the new authenticator and also asks for a code of the working one.
 */
TsrEnrollDialog *
tsr_enroll_dialog_new (GtkWindow *parent, TsrBackend *backend)
{
  TsrEnrollDialog *self = g_object_new (TSR_TYPE_ENROLL_DIALOG, "transient-for", parent, NULL);

  self->backend = g_object_ref (backend);
  self->switching = tsr_backend_user_has_otp (backend, tsr_backend_get_username (backend));
  gtk_widget_set_visible (GTK_WIDGET (self->current_code_row), self->switching);
  if (self->switching)
    gtk_button_set_label (self->confirm_button, _ ("_Switch to This App"));
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

/* What the dialog says of the last save of the codes, or NULL. */
const char *
tsr_enroll_dialog_get_saved (TsrEnrollDialog *self)
{
  g_return_val_if_fail (TSR_IS_ENROLL_DIALOG (self), NULL);
  return gtk_widget_get_visible (GTK_WIDGET (self->saved_label))
             ? gtk_label_get_text (self->saved_label)
             : NULL;
}
