/* tsr-window.c: the main window
 *
 * Sign-in first, then four pages: files, nodes, topology and storage. Files dropped anywhere
 * on the window upload; transfers end in a toast, one for all those that end alike while it
 * shows (a folder's worth of files dropped at once would otherwise queue a toast each, four
 * seconds apiece). The window holds the actions behind the header bar, the menu and the
 * shortcuts.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "tsr-settings.h"
#include "tsr-window.h"

/* How a transfer ended; transfers of one kind that end alike share a toast. */
enum
{
  OUTCOME_DONE,
  OUTCOME_CANCELLED,
  OUTCOME_FAILED,
  N_OUTCOMES
};
#define N_KINDS 2 /* TsrTransferKind */

typedef struct
{
  AdwToast *toast; /* in toasts, until dismissed */
  guint count;     /* transfers it tells of */
} Summary;

struct _TsrWindow
{
  AdwApplicationWindow parent_instance;

  AdwToastOverlay *toast_overlay;
  GtkOverlay *drop_area;
  GtkWidget *drop_highlight;
  GtkStack *stack;
  AdwViewStack *view_stack;
  GtkToggleButton *search_button;
  TsrSignInPage *sign_in_page;
  TsrFilesPage *files_page;
  TsrNodesPage *nodes_page;
  TsrTopologyPage *topology_page;
  TsrStoragePage *storage_page;
  TsrNetworkPage *network_page;

  TsrBackend *backend;
  GtkDropTarget *drop_target;
  TsrEnrollDialog *enroll_dialog;    /* weak */
  TsrAddNodeDialog *add_node_dialog; /* weak */
  AdwMessageDialog *disable_dialog;  /* weak: Turn Off Two-Factor, while open */
  AdwMessageDialog *quit_dialog;     /* weak: Stop Transfers, while open */
  gboolean quitting;   /* the user chose to stop the transfers: closes once they have ended */
  GSettings *settings; /* NULL when the schema is not installed */
  GPtrArray *toasts;   /* AdwToast: showing or waiting their turn */
  Summary summaries[N_KINDS][N_OUTCOMES];
};

G_DEFINE_FINAL_TYPE (TsrWindow, tsr_window, ADW_TYPE_APPLICATION_WINDOW)

/* ---- toasts ---- */

#define TOAST_SECONDS 4

static void
on_toast_dismissed (AdwToast *toast, TsrWindow *self)
{
  for (guint k = 0; k < N_KINDS; k++)
    for (guint o = 0; o < N_OUTCOMES; o++)
      if (self->summaries[k][o].toast == toast)
        self->summaries[k][o] = (Summary){ NULL, 0 };
  g_signal_handlers_disconnect_by_data (toast, self);
  g_ptr_array_remove (self->toasts, toast);
}

/* Shows @toast (its title is plain text), or, when it shows already, shows it for its whole
 * time again; one waiting its turn comes next. */
static void
show_toast (TsrWindow *self, AdwToast *toast, const char *title)
{
  /* libadwaita 1.2 takes a toast's title as markup, and a file name or an error message may
   * hold "&" or "<": unescaped, the toast showed nothing. */
  g_autofree char *escaped = g_markup_escape_text (title, -1);

  adw_toast_set_title (toast, escaped);
  if (!g_ptr_array_find (self->toasts, toast, NULL))
    {
      g_ptr_array_add (self->toasts, g_object_ref (toast));
      g_signal_connect (toast, "dismissed", G_CALLBACK (on_toast_dismissed), self);
    }
  adw_toast_overlay_add_toast (self->toast_overlay, g_object_ref (toast));
}

/**
 * tsr_window_toast:
 * @message: plain text
 *
 * Shows @message in a toast; the same message again, while its toast shows or waits, only
 * shows that one longer (files dropped while the nodes start get one notice, not one each).
 */
void
tsr_window_toast (TsrWindow *self, const char *message)
{
  g_autoptr (AdwToast) toast = NULL;

  for (guint i = 0; i < self->toasts->len; i++)
    {
      AdwToast *shown = self->toasts->pdata[i];
      if (g_strcmp0 (g_object_get_data (G_OBJECT (shown), "message"), message) == 0)
        {
          show_toast (self, shown, message);
          return;
        }
    }
  toast = adw_toast_new ("");
  adw_toast_set_timeout (toast, TOAST_SECONDS);
  g_object_set_data_full (G_OBJECT (toast), "message", g_strdup (message), g_free);
  show_toast (self, toast, message);
}

/* Shows @message in the toast of @widget's window, if it is in one. */
void
tsr_window_toast_for (GtkWidget *widget, const char *message)
{
  GtkRoot *root = gtk_widget_get_root (widget);

  if (TSR_IS_WINDOW (root))
    tsr_window_toast (TSR_WINDOW (root), message);
}

/**
 * tsr_window_get_toast_titles:
 *
 * Returns: (transfer full): the titles, as shown, of the toasts showing or waiting their turn,
 *   in the order they were first shown
 */
GStrv
tsr_window_get_toast_titles (TsrWindow *self)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; i < self->toasts->len; i++)
    {
      g_autofree char *text = NULL;
      pango_parse_markup (adw_toast_get_title (self->toasts->pdata[i]), -1, 0, NULL, &text, NULL,
                          NULL);
      g_strv_builder_add (builder, text != NULL ? text : "");
    }
  return g_strv_builder_end (builder);
}

/**
 * tsr_window_new_risky_question:
 * @parent: the window it belongs to
 * @heading: (nullable): plain text
 * @body: (nullable): plain text
 * @response: the id of the answer that cannot be taken back, labelled @label
 *
 * Returns: (transfer none): a question whose other answer, "cancel", is the default and what
 *   Escape gives; connect to its "response" and present it
 */
AdwMessageDialog *
tsr_window_new_risky_question (GtkWindow *parent, const char *heading, const char *body,
                               const char *response, const char *label)
{
  AdwMessageDialog *dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (parent, heading, body));

  adw_message_dialog_add_responses (dialog, "cancel", _ ("_Cancel"), response, label, NULL);
  adw_message_dialog_set_response_appearance (dialog, response, ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (dialog, "cancel");
  adw_message_dialog_set_close_response (dialog, "cancel");
  return dialog;
}

static void
update_actions (TsrWindow *self)
{
  gboolean signed_in = tsr_backend_get_username (self->backend) != NULL;
  gboolean ready = signed_in && tsr_backend_get_cluster_ready (self->backend);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.upload", ready);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.search", signed_in);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.refresh", ready);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.add-node", ready);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.two-factor", signed_in);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.sign-out", signed_in);
}

static void
on_username_changed (TsrWindow *self)
{
  gboolean signed_in = tsr_backend_get_username (self->backend) != NULL;

  gtk_stack_set_visible_child_name (self->stack, signed_in ? "main" : "sign-in");
  if (!signed_in)
    tsr_sign_in_page_reset (self->sign_in_page);
  update_actions (self);
}

/* ---- two-factor ---- */

static void
open_enrollment (TsrWindow *self)
{
  self->enroll_dialog = tsr_enroll_dialog_new (GTK_WINDOW (self), self->backend);
  g_object_add_weak_pointer (G_OBJECT (self->enroll_dialog), (gpointer *)&self->enroll_dialog);
  gtk_window_present (GTK_WINDOW (self->enroll_dialog));
}

/* Engine calls can outlive the window: their callbacks hold it weakly, and do nothing once it
 * is gone. */
static GWeakRef *
weak_window (TsrWindow *self)
{
  GWeakRef *ref = g_new0 (GWeakRef, 1);

  g_weak_ref_init (ref, self);
  return ref;
}

static TsrWindow *
window_from_weak (gpointer data)
{
  GWeakRef *ref = data;
  TsrWindow *self = g_weak_ref_get (ref);

  g_weak_ref_clear (ref);
  g_free (ref);
  return self;
}

/* The Turn Off dialog: its fields and its error line. */
static GtkWidget *
disable_dialog_part (AdwMessageDialog *dialog, const char *name)
{
  return g_object_get_data (G_OBJECT (dialog), name);
}

static void
on_otp_disabled (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (TsrWindow) self = window_from_weak (data);
  g_autoptr (GError) error = NULL;
  gboolean ok = tsr_backend_otp_disable_finish (TSR_BACKEND (source), result, &error);
  AdwMessageDialog *dialog;
  GtkWidget *code, *error_label;

  if (self == NULL || gtk_widget_in_destruction (GTK_WIDGET (self)))
    return;
  dialog = self->disable_dialog;
  if (ok)
    {
      if (dialog != NULL)
        gtk_window_destroy (GTK_WINDOW (dialog));
      tsr_window_toast (self, _ ("Two-factor authentication is off"));
      return;
    }
  if (dialog == NULL) /* closed meanwhile */
    {
      tsr_window_toast (self, error->message);
      return;
    }
  /* Said where it was typed, which stays: the password is kept, the code is selected for the
   * next one. */
  error_label = disable_dialog_part (dialog, "error");
  code = disable_dialog_part (dialog, "code");
  gtk_label_set_text (GTK_LABEL (error_label), error->message);
  gtk_widget_set_visible (error_label, TRUE);
  adw_message_dialog_set_response_enabled (dialog, "disable", TRUE);
  gtk_widget_grab_focus (code);
  gtk_editable_select_region (GTK_EDITABLE (code), 0, -1);
}

static void
on_disable_response (AdwMessageDialog *dialog, const char *response, gpointer data)
{
  TsrWindow *self = data;

  if (g_strcmp0 (response, "disable") != 0)
    {
      gtk_window_destroy (GTK_WINDOW (dialog));
      return;
    }
  if (!adw_message_dialog_get_response_enabled (dialog, "disable"))
    return; /* Enter again while it runs */
  adw_message_dialog_set_response_enabled (dialog, "disable", FALSE);
  gtk_widget_set_visible (disable_dialog_part (dialog, "error"), FALSE);
  tsr_backend_otp_disable_async (
      self->backend,
      gtk_editable_get_text (GTK_EDITABLE (disable_dialog_part (dialog, "password"))),
      gtk_editable_get_text (GTK_EDITABLE (disable_dialog_part (dialog, "code"))), NULL,
      on_otp_disabled, weak_window (self));
}

/* A message dialog closes before it tells of the button pressed; this one stays, so that a
 * wrong code can be said in it and typed again. on_disable_response() closes it. */
static gboolean
keep_open (GtkWindow *dialog)
{
  return TRUE;
}

static void
ask_to_disable (TsrWindow *self)
{
  GtkWidget *dialog, *box, *password, *code, *error;

  if (self->disable_dialog != NULL)
    {
      gtk_window_present (GTK_WINDOW (self->disable_dialog));
      return;
    }
  dialog = GTK_WIDGET (tsr_window_new_risky_question (
      GTK_WINDOW (self), _ ("Turn Off Two-Factor?"),
      _ ("Signing in will need only your password. Confirm with your password and a code from "
         "your authenticator app."),
      "disable", _ ("_Turn Off")));
  /* Plain GtkEntry: GTK 4.8's password entries keep a caps-lock handler on the keyboard that
   * outlives them when a dialog is destroyed, and the next focus change then crashes. */
  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  password = gtk_entry_new ();
  gtk_entry_set_visibility (GTK_ENTRY (password), FALSE);
  gtk_entry_set_input_purpose (GTK_ENTRY (password), GTK_INPUT_PURPOSE_PASSWORD);
  gtk_entry_set_placeholder_text (GTK_ENTRY (password), _ ("Password"));
  code = gtk_entry_new ();
  gtk_entry_set_placeholder_text (GTK_ENTRY (code), _ ("Two-Factor Code or Backup Code"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (password), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _ ("Password"), -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (code), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _ ("Two-Factor Code or Backup Code"), -1);
  error = gtk_label_new (NULL);
  gtk_label_set_wrap (GTK_LABEL (error), TRUE);
  gtk_widget_add_css_class (error, "error");
  gtk_widget_set_visible (error, FALSE);
  gtk_box_append (GTK_BOX (box), password);
  gtk_box_append (GTK_BOX (box), code);
  gtk_box_append (GTK_BOX (box), error);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), box);
  g_object_set_data (G_OBJECT (dialog), "password", password);
  g_object_set_data (G_OBJECT (dialog), "code", code);
  g_object_set_data (G_OBJECT (dialog), "error", error);
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_disable_response), self, 0);
  /* After the dialog's own handler, which gives the close response (Escape). */
  g_signal_connect_after (dialog, "close-request", G_CALLBACK (keep_open), NULL);
  self->disable_dialog = ADW_MESSAGE_DIALOG (dialog);
  g_object_add_weak_pointer (G_OBJECT (dialog), (gpointer *)&self->disable_dialog);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
two_factor_action (GtkWidget *widget, const char *action, GVariant *param)
{
  TsrWindow *self = TSR_WINDOW (widget);

  if (tsr_backend_user_has_otp (self->backend, tsr_backend_get_username (self->backend)))
    ask_to_disable (self);
  else
    open_enrollment (self);
}

static void
on_offer_response (AdwMessageDialog *dialog, const char *response, gpointer data)
{
  TsrWindow *self = data;

  if (g_strcmp0 (response, "enroll") == 0)
    open_enrollment (self);
}

/* Asks whether to set up two-factor authentication now (@set_up) or later. */
static void
offer_enrollment (TsrWindow *self, const char *heading, const char *body, const char *set_up)
{
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), heading, body);

  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog), "later", _ ("_Later"), "enroll",
                                    set_up, NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "enroll",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "later");
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_offer_response), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* Signed in with a backup code: how many are left, before they run out. */
static void
tell_backup_codes_left (TsrWindow *self, int left)
{
  g_autofree char *body = NULL;

  if (left == 0)
    body = g_strdup (_ ("That was your last backup code. Set up two-factor authentication "
                        "again to get new ones while you still have the authenticator app: "
                        "setting it up asks for a code from it."));
  else
    body = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                         "%d backup code is left. Set up two-factor "
                                         "authentication again to get new ones.",
                                         "%d backup codes are left. Set up two-factor "
                                         "authentication again to get new ones.",
                                         left),
                            left);
  offer_enrollment (self, _ ("You Used a Backup Code"), body, _ ("_Set Up Again"));
}

static void
on_signed_in (TsrWindow *self, gboolean created)
{
  int left = tsr_backend_get_backup_codes_left (self->backend);

  if (left >= 0)
    tell_backup_codes_left (self, left);
  if (!created)
    return;
  /* A new account is the moment to offer the second factor. */
  offer_enrollment (self, _ ("Protect Your Account?"),
                    _ ("With two-factor authentication, signing in also needs a code from an "
                       "app on your phone."),
                    _ ("_Set Up"));
}

/* ---- nodes ---- */

static void
on_node_added (TsrWindow *self, const char *name)
{
  g_autofree char *message = g_strdup_printf (_ ("%s is added"), name);

  adw_view_stack_set_visible_child_name (self->view_stack, "nodes");
  tsr_window_toast (self, message);
}

static void
add_node_action (GtkWidget *widget, const char *action, GVariant *param)
{
  TsrWindow *self = TSR_WINDOW (widget);

  if (self->add_node_dialog != NULL)
    {
      gtk_window_present (GTK_WINDOW (self->add_node_dialog));
      return;
    }
  self->add_node_dialog = tsr_add_node_dialog_new (GTK_WINDOW (self), self->backend);
  g_object_add_weak_pointer (G_OBJECT (self->add_node_dialog), (gpointer *)&self->add_node_dialog);
  g_signal_connect_object (self->add_node_dialog, "node-added", G_CALLBACK (on_node_added), self,
                           G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (self->add_node_dialog));
}

/* ---- files ---- */

static void
on_upload_response (GtkNativeDialog *dialog, int response, gpointer data)
{
  g_autoptr (TsrWindow) self = data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GListModel) files = gtk_file_chooser_get_files (GTK_FILE_CHOOSER (dialog));
      GList *list = NULL;
      for (guint i = g_list_model_get_n_items (files); i > 0; i--)
        list = g_list_prepend (list, g_list_model_get_item (files, i - 1));
      tsr_backend_upload_files (self->backend, list);
      g_list_free_full (list, g_object_unref);
      adw_view_stack_set_visible_child_name (self->view_stack, "files");
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
}

static void
upload_action (GtkWidget *widget, const char *action, GVariant *param)
{
  GtkFileChooserNative *dialog;

  dialog = gtk_file_chooser_native_new (_ ("Upload Files"), GTK_WINDOW (widget),
                                        GTK_FILE_CHOOSER_ACTION_OPEN, _ ("_Upload"), _ ("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  gtk_file_chooser_set_select_multiple (GTK_FILE_CHOOSER (dialog), TRUE);
  g_signal_connect (dialog, "response", G_CALLBACK (on_upload_response), g_object_ref (widget));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
search_action (GtkWidget *widget, const char *action, GVariant *param)
{
  TsrWindow *self = TSR_WINDOW (widget);

  adw_view_stack_set_visible_child_name (self->view_stack, "files");
  gtk_toggle_button_set_active (self->search_button, TRUE);
}

static void
refresh_action (GtkWidget *widget, const char *action, GVariant *param)
{
  tsr_backend_refresh (TSR_WINDOW (widget)->backend);
}

static void
sign_out_action (GtkWidget *widget, const char *action, GVariant *param)
{
  tsr_backend_sign_out (TSR_WINDOW (widget)->backend);
}

static gboolean
on_drop (GtkDropTarget *target, const GValue *value, double x, double y, TsrWindow *self)
{
  GSList *files = NULL;
  GList *list = NULL;

  gtk_widget_set_visible (self->drop_highlight, FALSE);
  if (tsr_backend_get_username (self->backend) == NULL)
    return FALSE;
  if (G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    files = gdk_file_list_get_files (g_value_get_boxed (value));
  else if (G_VALUE_HOLDS (value, G_TYPE_FILE))
    files = g_slist_prepend (NULL, g_value_get_object (value));
  else
    return FALSE;
  for (GSList *l = files; l != NULL; l = l->next)
    list = g_list_prepend (list, l->data);
  list = g_list_reverse (list);
  tsr_backend_upload_files (self->backend, list);
  g_list_free (list);
  g_slist_free (files);
  adw_view_stack_set_visible_child_name (self->view_stack, "files");
  return TRUE;
}

static GdkDragAction
on_drop_enter (GtkDropTarget *target, double x, double y, TsrWindow *self)
{
  if (tsr_backend_get_username (self->backend) == NULL)
    return 0;
  gtk_widget_set_visible (self->drop_highlight, TRUE);
  return GDK_ACTION_COPY;
}

static void
on_drop_leave (GtkDropTarget *target, TsrWindow *self)
{
  gtk_widget_set_visible (self->drop_highlight, FALSE);
}

static void
on_transfer_finished (TsrWindow *self, TsrTransfer *transfer, const GError *error)
{
  TsrTransferKind kind = tsr_transfer_get_kind (transfer);
  gboolean up = kind == TSR_TRANSFER_UPLOAD;
  const char *name = tsr_transfer_get_name (transfer);
  g_autofree char *message = NULL;
  g_autoptr (AdwToast) toast = NULL;
  Summary *summary;
  guint outcome, n;

  if (error == NULL)
    outcome = OUTCOME_DONE;
  else if (g_error_matches (error, TSR_ERROR, TSR_ERROR_CANCELLED) ||
           g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    outcome = OUTCOME_CANCELLED;
  else
    outcome = OUTCOME_FAILED;
  summary = &self->summaries[kind][outcome];
  n = ++summary->count;

  if (n == 1 && outcome == OUTCOME_DONE)
    message = g_strdup_printf (up ? _ ("“%s” is stored") : _ ("“%s” is downloaded"), name);
  else if (n == 1 && outcome == OUTCOME_CANCELLED)
    message = g_strdup_printf (
        up ? _ ("Upload of “%s” cancelled") : _ ("Download of “%s” cancelled"), name);
  else if (n == 1)
    message =
        g_strdup_printf (up ? _ ("Could not upload “%s”: %s") : _ ("Could not download “%s”: %s"),
                         name, error->message);
  else if (outcome == OUTCOME_DONE)
    message =
        g_strdup_printf (up ? ngettext ("%u file is stored", "%u files are stored", n)
                            : ngettext ("%u file is downloaded", "%u files are downloaded", n),
                         n);
  else if (outcome == OUTCOME_CANCELLED)
    message = g_strdup_printf (up ? ngettext ("%u upload cancelled", "%u uploads cancelled", n)
                                  : ngettext ("%u download cancelled", "%u downloads cancelled", n),
                               n);
  else /* the latest reason: those ending together mostly share one (a node down) */
    message = g_strdup_printf (
        up ? ngettext ("Could not upload %u file: %s", "Could not upload %u files: %s", n)
           : ngettext ("Could not download %u file: %s", "Could not download %u files: %s", n),
        n, error->message);
  if (summary->toast == NULL)
    {
      summary->toast = toast = adw_toast_new ("");
      adw_toast_set_timeout (toast, TOAST_SECONDS);
    }
  show_toast (self, summary->toast, message);
}

static void
on_notice (TsrWindow *self, const char *message)
{
  tsr_window_toast (self, message);
}

/* ---- remembered state ---- */

static void
on_page_changed (TsrWindow *self)
{
  const char *page = adw_view_stack_get_visible_child_name (self->view_stack);

  /* Saved as it changes rather than at close: app.quit and a session logout destroy the
   * window without a close request. */
  if (self->settings != NULL && page != NULL)
    g_settings_set_string (self->settings, "last-page", page);
}

static void
restore_state (TsrWindow *self)
{
  g_autofree char *page = NULL;

  if (self->settings == NULL)
    return;
  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));
  page = g_settings_get_string (self->settings, "last-page");
  adw_view_stack_set_visible_child_name (self->view_stack, page);
}

/* ---- closing ---- */

static guint
n_transfers (TsrWindow *self)
{
  return self->backend != NULL
             ? g_list_model_get_n_items (tsr_backend_get_transfers (self->backend))
             : 0;
}

/* What stopping the transfers loses, for the Stop Transfers question. */
static char *
describe_transfers (TsrWindow *self)
{
  GListModel *transfers = tsr_backend_get_transfers (self->backend);
  guint n = g_list_model_get_n_items (transfers), up = 0;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr (TsrTransfer) t = g_list_model_get_item (transfers, i);
      up += tsr_transfer_get_kind (t) == TSR_TRANSFER_UPLOAD;
    }
  if (up == n)
    return g_strdup_printf (ngettext ("%u upload is still running. Quitting cancels it; the file "
                                      "is not stored.",
                                      "%u uploads are still running. Quitting cancels them; the "
                                      "files are not stored.",
                                      n),
                            n);
  if (up == 0)
    return g_strdup_printf (ngettext ("%u download is still running. Quitting cancels it; the "
                                      "partly downloaded file is removed.",
                                      "%u downloads are still running. Quitting cancels them; "
                                      "the partly downloaded files are removed.",
                                      n),
                            n);
  return g_strdup_printf (ngettext ("%u transfer is still running. Quitting cancels it; nothing "
                                    "half done is kept.",
                                    "%u transfers are still running. Quitting cancels them; "
                                    "nothing half done is kept.",
                                    n),
                          n);
}

/* While the window asks about stopping the transfers, or waits for them to stop. */
static void
on_transfers_changed (TsrWindow *self)
{
  AdwMessageDialog *dialog = self->quit_dialog;

  if (dialog == NULL && !self->quitting)
    return;
  if (n_transfers (self) > 0)
    {
      if (dialog != NULL)
        {
          g_autofree char *body = describe_transfers (self);
          adw_message_dialog_set_body (dialog, body);
        }
      return;
    }
  /* All ended: nothing is left to ask about, and the window closes as it was asked to. */
  if (dialog != NULL)
    {
      g_clear_weak_pointer (&self->quit_dialog);
      gtk_window_destroy (GTK_WINDOW (dialog));
    }
  gtk_window_close (GTK_WINDOW (self));
}

static void
on_quit_response (AdwMessageDialog *dialog, const char *response, gpointer data)
{
  TsrWindow *self = data;

  /* The first response counts: closing the dialog gives the close response after it. */
  if (self->quit_dialog != dialog)
    return;
  g_clear_weak_pointer (&self->quit_dialog);
  if (g_strcmp0 (response, "quit") != 0)
    return;
  /* The engine undoes each cancelled transfer (no manifest for an upload, no partial file for
   * a download) before it tells of its end, which over slow links takes a few seconds; the
   * window goes out of sight at once and closes after the last. */
  self->quitting = TRUE;
  gtk_widget_set_visible (GTK_WIDGET (self), FALSE);
  tsr_backend_cancel_transfers (self->backend);
  on_transfers_changed (self);
}

/* Asks before closing on running transfers: closing ended them, and what they had done was
 * lost without a word. */
static void
ask_to_stop_transfers (TsrWindow *self)
{
  g_autofree char *body = NULL;
  AdwMessageDialog *dialog;

  if (self->quit_dialog != NULL)
    {
      gtk_window_present (GTK_WINDOW (self->quit_dialog));
      return;
    }
  body = describe_transfers (self);
  dialog = tsr_window_new_risky_question (GTK_WINDOW (self), _ ("Stop Transfers?"), body, "quit",
                                          _ ("_Quit"));
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_quit_response), self, 0);
  self->quit_dialog = dialog;
  g_object_add_weak_pointer (G_OBJECT (dialog), (gpointer *)&self->quit_dialog);
  gtk_window_present (GTK_WINDOW (dialog));
}

static gboolean
tsr_window_close_request (GtkWindow *window)
{
  TsrWindow *self = TSR_WINDOW (window);
  int width, height;

  /* The close button, Ctrl+Q and app.quit all come here. Once the user chose to quit, the
   * window waits for the cancelled transfers to end. */
  if (n_transfers (self) > 0)
    {
      if (!self->quitting)
        ask_to_stop_transfers (self);
      return TRUE;
    }
  if (self->settings != NULL)
    {
      /* The default size follows the window's size while it is neither maximized nor
       * fullscreen, so a maximized window keeps the size to return to. */
      gtk_window_get_default_size (window, &width, &height);
      g_settings_delay (self->settings);
      g_settings_set_int (self->settings, "window-width", width);
      g_settings_set_int (self->settings, "window-height", height);
      g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (window));
      g_settings_apply (self->settings);
    }
  return GTK_WINDOW_CLASS (tsr_window_parent_class)->close_request (window);
}

/* ---- the object ---- */

static void
tsr_window_dispose (GObject *object)
{
  TsrWindow *self = TSR_WINDOW (object);

  if (self->backend != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->backend, self);
      g_signal_handlers_disconnect_by_data (tsr_backend_get_transfers (self->backend), self);
    }
  g_clear_object (&self->backend);
  for (guint i = 0; self->toasts != NULL && i < self->toasts->len; i++)
    g_signal_handlers_disconnect_by_data (self->toasts->pdata[i], self);
  g_clear_pointer (&self->toasts, g_ptr_array_unref);
  memset (self->summaries, 0, sizeof self->summaries);
  g_clear_object (&self->settings);
  g_clear_weak_pointer (&self->disable_dialog);
  g_clear_weak_pointer (&self->quit_dialog);
  gtk_widget_dispose_template (GTK_WIDGET (self), TSR_TYPE_WINDOW);
  G_OBJECT_CLASS (tsr_window_parent_class)->dispose (object);
}

static void
tsr_window_class_init (TsrWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = tsr_window_dispose;
  window_class->close_request = tsr_window_close_request;

  g_type_ensure (TSR_TYPE_SIGN_IN_PAGE);
  g_type_ensure (TSR_TYPE_FILES_PAGE);
  g_type_ensure (TSR_TYPE_NODES_PAGE);
  g_type_ensure (TSR_TYPE_TOPOLOGY_PAGE);
  g_type_ensure (TSR_TYPE_STORAGE_PAGE);
  g_type_ensure (TSR_TYPE_NETWORK_PAGE);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/tessera/Tessera/tsr-window.ui");
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, drop_area);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, drop_highlight);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, view_stack);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, search_button);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, sign_in_page);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, files_page);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, nodes_page);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, topology_page);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, storage_page);
  gtk_widget_class_bind_template_child (widget_class, TsrWindow, network_page);

  gtk_widget_class_install_action (widget_class, "win.upload", NULL, upload_action);
  gtk_widget_class_install_action (widget_class, "win.search", NULL, search_action);
  gtk_widget_class_install_action (widget_class, "win.refresh", NULL, refresh_action);
  gtk_widget_class_install_action (widget_class, "win.two-factor", NULL, two_factor_action);
  gtk_widget_class_install_action (widget_class, "win.add-node", NULL, add_node_action);
  gtk_widget_class_install_action (widget_class, "win.sign-out", NULL, sign_out_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK, "win.upload",
                                       NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_f, GDK_CONTROL_MASK, "win.search",
                                       NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F5, 0, "win.refresh", NULL);
}

static void
tsr_window_init (TsrWindow *self)
{
  GType types[] = { GDK_TYPE_FILE_LIST, G_TYPE_FILE };

  gtk_widget_init_template (GTK_WIDGET (self));
  self->toasts = g_ptr_array_new_with_free_func (g_object_unref);

  /* Files first: G_TYPE_FILE alone would keep only the first of several dropped files. */
  self->drop_target = gtk_drop_target_new (G_TYPE_INVALID, GDK_ACTION_COPY);
  gtk_drop_target_set_gtypes (self->drop_target, types, G_N_ELEMENTS (types));
  g_signal_connect (self->drop_target, "drop", G_CALLBACK (on_drop), self);
  g_signal_connect (self->drop_target, "enter", G_CALLBACK (on_drop_enter), self);
  g_signal_connect (self->drop_target, "leave", G_CALLBACK (on_drop_leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self->drop_area),
                             GTK_EVENT_CONTROLLER (self->drop_target));

  g_object_bind_property (self->search_button, "active",
                          tsr_files_page_get_search_bar (self->files_page), "search-mode-enabled",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  gtk_search_bar_set_key_capture_widget (tsr_files_page_get_search_bar (self->files_page),
                                         GTK_WIDGET (self->files_page));
  g_signal_connect_swapped (self->sign_in_page, "signed-in", G_CALLBACK (on_signed_in), self);

  self->settings = tsr_settings_new ();
  restore_state (self);
  g_signal_connect_swapped (self->view_stack, "notify::visible-child-name",
                            G_CALLBACK (on_page_changed), self);
}

/**
 * tsr_window_new:
 * @app: (nullable): the application
 * @backend: the engine; started by the caller
 */
TsrWindow *
tsr_window_new (GtkApplication *app, TsrBackend *backend)
{
  TsrWindow *self = g_object_new (TSR_TYPE_WINDOW, "application", app, NULL);

  self->backend = g_object_ref (backend);
  tsr_sign_in_page_set_backend (self->sign_in_page, backend);
  tsr_files_page_set_backend (self->files_page, backend);
  tsr_nodes_page_set_backend (self->nodes_page, backend);
  tsr_topology_page_set_backend (self->topology_page, backend);
  tsr_storage_page_set_backend (self->storage_page, backend);
  tsr_network_page_set_backend (self->network_page, backend);
  g_signal_connect_swapped (backend, "notify::username", G_CALLBACK (on_username_changed), self);
  g_signal_connect_swapped (backend, "notify::cluster-ready", G_CALLBACK (update_actions), self);
  g_signal_connect_swapped (backend, "transfer-finished", G_CALLBACK (on_transfer_finished), self);
  g_signal_connect_swapped (backend, "notice", G_CALLBACK (on_notice), self);
  g_signal_connect_swapped (tsr_backend_get_transfers (backend), "items-changed",
                            G_CALLBACK (on_transfers_changed), self);
  on_username_changed (self);
  return self;
}

TsrBackend *
tsr_window_get_backend (TsrWindow *self)
{
  return self->backend;
}

/* "sign-in", or the main view's page: "files", "nodes", "topology", "storage" or "network". */
const char *
tsr_window_get_visible_page (TsrWindow *self)
{
  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->stack), "sign-in") == 0)
    return "sign-in";
  return adw_view_stack_get_visible_child_name (self->view_stack);
}

void
tsr_window_set_visible_page (TsrWindow *self, const char *name)
{
  adw_view_stack_set_visible_child_name (self->view_stack, name);
}

TsrSignInPage *
tsr_window_get_sign_in_page (TsrWindow *self)
{
  return self->sign_in_page;
}

TsrFilesPage *
tsr_window_get_files_page (TsrWindow *self)
{
  return self->files_page;
}

TsrNodesPage *
tsr_window_get_nodes_page (TsrWindow *self)
{
  return self->nodes_page;
}

TsrTopologyPage *
tsr_window_get_topology_page (TsrWindow *self)
{
  return self->topology_page;
}

TsrStoragePage *
tsr_window_get_storage_page (TsrWindow *self)
{
  return self->storage_page;
}

TsrNetworkPage *
tsr_window_get_network_page (TsrWindow *self)
{
  return self->network_page;
}

GtkDropTarget *
tsr_window_get_drop_target (TsrWindow *self)
{
  return self->drop_target;
}

/* The open "Add Node" dialog, or %NULL. */
TsrAddNodeDialog *
tsr_window_get_add_node_dialog (TsrWindow *self)
{
  return self->add_node_dialog;
}

/* The open enrollment dialog, or %NULL. */
TsrEnrollDialog *
tsr_window_get_enroll_dialog (TsrWindow *self)
{
  return self->enroll_dialog;
}
