/* tsr-add-node-dialog.c: a machine of the user's, reached over SSH, becomes a node
 *
 * What `tessera-cli remote add` does, through the same engine object (TsrRemoteAdd) run on a
 * worker thread. An unknown host stops the run before anything happens there: its SHA256
 * fingerprint is shown and the run goes on only if the user accepts it. A changed host key
 * is refused, whatever the user says. An SSH key protected by a passphrase stops the run
 * before anything is connected to: the dialog asks for the passphrase (again, when it was
 * wrong) and runs again with it; the engine's copy is wiped when the dialog goes.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "tsr-add-node-dialog.h"

struct _TsrAddNodeDialog
{
  AdwWindow parent_instance;

  AdwPreferencesGroup *form;
  AdwEntryRow *target_row;
  AdwEntryRow *key_row;
  AdwEntryRow *tesserad_row;
  GtkSwitch *no_provision_switch;
  AdwExpanderRow *advanced_row;
  AdwEntryRow *name_row;
  AdwEntryRow *port_row;
  AdwEntryRow *address_row;
  AdwEntryRow *capacity_row;
  AdwEntryRow *remote_dir_row;
  GtkWidget *progress_box;
  GtkSpinner *spinner;
  GtkLabel *step_label;
  GtkLabel *error_label;
  GtkWidget *add_button;

  TsrBackend *backend;
  TsrRemoteAdd *op;          /* the run under way, or the last one */
  GCancellable *cancellable; /* cancelled when the dialog goes */
  AdwMessageDialog *confirm; /* weak: the host key question while it is open */
  AdwMessageDialog *unlock;  /* weak: the passphrase question while it is open */
  gboolean busy;
  gboolean passphrase_given; /* the run under way has a passphrase the user typed */
};

G_DEFINE_FINAL_TYPE (TsrAddNodeDialog, tsr_add_node_dialog, ADW_TYPE_WINDOW)

enum
{
  SIGNAL_NODE_ADDED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
show_error (TsrAddNodeDialog *self, const char *message)
{
  gtk_label_set_text (self->error_label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), message != NULL);
}

static void
set_busy (TsrAddNodeDialog *self, gboolean busy)
{
  self->busy = busy;
  /* Focus leaves the form first: GTK 4.8 warns when a focused text field turns insensitive
   * (it never gets its focus-out). */
  if (busy)
    gtk_window_set_focus (GTK_WINDOW (self), NULL);
  gtk_widget_set_sensitive (GTK_WIDGET (self->form), !busy);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "add-node.add", !busy);
  gtk_widget_set_visible (self->progress_box, busy);
  gtk_spinner_set_spinning (self->spinner, busy);
}

static const char *
step_text (TsrRemoteAddStep step)
{
  switch (step)
    {
      case TSR_REMOTE_ADD_STEP_KEY:
        return _ ("Loading the SSH key…");
      case TSR_REMOTE_ADD_STEP_CONNECT:
        return _ ("Connecting and checking the host key…");
      case TSR_REMOTE_ADD_STEP_PROVISION:
        return _ ("Installing and starting tesserad…");
      case TSR_REMOTE_ADD_STEP_WAIT:
        return _ ("Waiting for the node to answer…");
      case TSR_REMOTE_ADD_STEP_ADD:
        return _ ("Adding the node…");
      case TSR_REMOTE_ADD_STEP_NONE:
      case TSR_REMOTE_ADD_STEP_DONE:
      default:
        return "";
    }
}

static void
on_step (TsrRemoteAdd *op, GParamSpec *pspec, TsrAddNodeDialog *self)
{
  gtk_label_set_text (self->step_label, step_text (tsr_remote_add_get_step (op)));
}

static void run (TsrAddNodeDialog *self);

/* Shows @dialog, a question the run stopped for: Cancel (also what closing it says) or
 * @go_id, the suggested answer, with @default_id the default. It is in *@slot while open, and
 * @on_response gets its answer; the step line says @waiting meanwhile. */
static void
present_question (TsrAddNodeDialog *self, AdwMessageDialog *dialog, AdwMessageDialog **slot,
                  const char *go_id, const char *go_label, const char *default_id,
                  GCallback on_response, const char *waiting)
{
  adw_message_dialog_add_responses (dialog, "cancel", _ ("_Cancel"), go_id, go_label, NULL);
  adw_message_dialog_set_response_appearance (dialog, go_id, ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (dialog, default_id);
  adw_message_dialog_set_close_response (dialog, "cancel");
  g_set_weak_pointer (slot, dialog);
  g_signal_connect_object (dialog, "response", on_response, self, 0);
  gtk_label_set_text (self->step_label, waiting);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
on_confirm_response (AdwMessageDialog *dialog, const char *response, gpointer data)
{
  TsrAddNodeDialog *self = data;

  /* "response" may come twice (a button, then the close response): the first one counts. */
  if (self->confirm != dialog)
    return;
  g_clear_weak_pointer (&self->confirm);
  if (g_strcmp0 (response, "accept") == 0 && self->op != NULL)
    {
      tsr_remote_add_set_accepted_host_key (self->op,
                                            tsr_remote_add_get_host_fingerprint (self->op));
      run (self);
      return;
    }
  set_busy (self, FALSE);
  show_error (self, _ ("Not added: the host key was not accepted. Nothing was changed on the "
                       "host."));
}

/* The one question the run cannot answer itself: is this the host the user means? */
static void
ask_about_host_key (TsrAddNodeDialog *self)
{
  g_autofree char *body = NULL;
  GtkWidget *dialog, *fingerprint;

  body = g_strdup_printf (
      _ ("Tessera has not connected to %s before. It presents this host key fingerprint:"),
      gtk_editable_get_text (GTK_EDITABLE (self->target_row)));
  dialog = adw_message_dialog_new (GTK_WINDOW (self), _ ("Trust This Host?"), body);
  fingerprint = gtk_label_new (tsr_remote_add_get_host_fingerprint (self->op));
  gtk_label_set_selectable (GTK_LABEL (fingerprint), TRUE);
  gtk_label_set_wrap (GTK_LABEL (fingerprint), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (fingerprint), PANGO_WRAP_CHAR);
  gtk_widget_add_css_class (fingerprint, "host-fingerprint");
  gtk_widget_add_css_class (fingerprint, "card");
  gtk_accessible_update_property (GTK_ACCESSIBLE (fingerprint), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _ ("Host Key Fingerprint"), -1);
  {
    GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
    GtkWidget *hint = gtk_label_new (
        _ ("Accept it only if it matches what the host shows for its key, for example with "
           "“ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub” run there."));
    gtk_label_set_wrap (GTK_LABEL (hint), TRUE);
    gtk_label_set_justify (GTK_LABEL (hint), GTK_JUSTIFY_CENTER);
    gtk_widget_add_css_class (hint, "dim-label");
    gtk_box_append (GTK_BOX (box), fingerprint);
    gtk_box_append (GTK_BOX (box), hint);
    adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), box);
  }
  /* Cancel is the default: trusting a host takes a deliberate click. */
  present_question (self, ADW_MESSAGE_DIALOG (dialog), &self->confirm, "accept",
                    _ ("_Trust and Continue"), "cancel", G_CALLBACK (on_confirm_response),
                    _ ("Waiting for you to check the host key…"));
}

static void
on_unlock_response (AdwMessageDialog *dialog, const char *response, gpointer data)
{
  TsrAddNodeDialog *self = data;
  GtkEditable *entry;

  /* As on_confirm_response(): the first response counts (the second may come while the
   * dialog is being destroyed). */
  if (self->unlock != dialog)
    return;
  g_clear_weak_pointer (&self->unlock);
  entry = GTK_EDITABLE (tsr_add_node_dialog_get_passphrase_row (dialog));
  /* Focus leaves the field before the dialog closes: GTK 4.8 destroying a window whose
   * focus is in an entry row notifies the row after it is gone. */
  gtk_window_set_focus (GTK_WINDOW (dialog), NULL);
  if (g_strcmp0 (response, "unlock") == 0 && self->op != NULL)
    {
      tsr_remote_add_set_key_passphrase (self->op, gtk_editable_get_text (entry));
      self->passphrase_given = TRUE;
      gtk_editable_set_text (entry, "");
      run (self);
      return;
    }
  gtk_editable_set_text (entry, "");
  set_busy (self, FALSE);
  show_error (self, _ ("Not added: the SSH key stayed locked. Nothing was changed on the host."));
}

/* The key is encrypted: asks for its passphrase, saying so when the one given was wrong. */
static void
ask_for_passphrase (TsrAddNodeDialog *self, gboolean wrong)
{
  g_autofree char *body = NULL;
  GtkWidget *dialog, *list, *entry;

  body = g_strdup_printf (wrong ? _ ("That passphrase does not open the SSH key %s. Try again.")
                                : _ ("The SSH key %s is protected by a passphrase."),
                          tsr_remote_add_get_key_path (self->op));
  dialog = adw_message_dialog_new (GTK_WINDOW (self), _ ("Unlock SSH Key"), body);
  /* A row in a boxed list, as the sign-in page's password. */
  list = gtk_list_box_new ();
  gtk_list_box_set_selection_mode (GTK_LIST_BOX (list), GTK_SELECTION_NONE);
  gtk_widget_add_css_class (list, "boxed-list");
  entry = adw_password_entry_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (entry), _ ("Passphrase"));
  adw_entry_row_set_activates_default (ADW_ENTRY_ROW (entry), TRUE);
  gtk_list_box_append (GTK_LIST_BOX (list), entry);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), list);
  present_question (self, ADW_MESSAGE_DIALOG (dialog), &self->unlock, "unlock", _ ("_Unlock"),
                    "unlock", G_CALLBACK (on_unlock_response),
                    _ ("Waiting for the SSH key’s passphrase…"));
  gtk_widget_grab_focus (entry);
}

static void
on_run_done (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (TsrAddNodeDialog) self = data;
  g_autoptr (GError) error = NULL;
  TsrRemoteAdd *op = TSR_REMOTE_ADD (source);
  const TsrRemote *r;

  if (!tsr_remote_add_run_finish (op, result, &error))
    {
      /* Gone meanwhile (closed: the run was cancelled), or superseded. */
      if (self->backend == NULL || op != self->op)
        return;
      if (g_error_matches (error, TSR_ERROR, TSR_ERROR_HOST_KEY_UNKNOWN))
        {
          ask_about_host_key (self);
          return;
        }
      if (g_error_matches (error, TSR_ERROR, TSR_ERROR_KEY_LOCKED))
        {
          ask_for_passphrase (self, self->passphrase_given);
          return;
        }
      set_busy (self, FALSE);
      /* The host refused the key: say which line lets it in (Tessera's own key is made on
       * first use, so the user has never seen it). */
      if (g_error_matches (error, TSR_ERROR, TSR_ERROR_AUTH) &&
          tsr_remote_add_get_public_key_line (op) != NULL)
        {
          g_autofree char *message = g_strdup_printf (
              _ ("%s\n\nAdd this line to ~/.ssh/authorized_keys on the host, then try again:\n%s"),
              error->message, tsr_remote_add_get_public_key_line (op));
          show_error (self, g_strstrip (message));
          return;
        }
      show_error (self, error->message);
      return;
    }
  /* The key is loaded: its passphrase is needed no more. */
  tsr_remote_add_set_key_passphrase (op, NULL);
  if (self->backend == NULL)
    return;
  r = tsr_remote_add_get_remote (op);
  set_busy (self, FALSE);
  tsr_backend_refresh (self->backend);
  g_signal_emit (self, signals[SIGNAL_NODE_ADDED], 0, r->name);
  gtk_window_close (GTK_WINDOW (self));
}

static void
run (TsrAddNodeDialog *self)
{
  set_busy (self, TRUE);
  show_error (self, NULL);
  gtk_label_set_text (self->step_label, step_text (tsr_remote_add_get_step (self->op)));
  tsr_remote_add_run_async (self->op, self->cancellable, on_run_done, g_object_ref (self));
}

static char *
text_or_null (AdwEntryRow *row)
{
  g_autofree char *text = g_strdup (gtk_editable_get_text (GTK_EDITABLE (row)));

  g_strstrip (text);
  return *text != '\0' ? g_steal_pointer (&text) : NULL;
}

/**
 * tsr_add_node_dialog_add:
 *
 * What the Add button does: checks the form and starts adding the node.
 */
void
tsr_add_node_dialog_add (TsrAddNodeDialog *self)
{
  g_autofree char *target = text_or_null (self->target_row);
  g_autofree char *key = text_or_null (self->key_row);
  g_autofree char *tesserad = text_or_null (self->tesserad_row);
  g_autofree char *name = text_or_null (self->name_row);
  g_autofree char *port_text = text_or_null (self->port_row);
  g_autofree char *remote_dir = text_or_null (self->remote_dir_row);
  g_autofree char *address = text_or_null (self->address_row);
  g_autofree char *capacity = text_or_null (self->capacity_row);
  g_autofree char *address_host = NULL;
  guint16 address_port;
  g_autofree char *user = NULL;
  g_autofree char *host = NULL;
  g_autofree char *listen = NULL;
  TsrRemoteAddOptions options = { 0 };
  TsrCluster *cluster;
  guint64 port = TSR_TESSERAD_DEFAULT_PORT;

  g_return_if_fail (TSR_IS_ADD_NODE_DIALOG (self));

  cluster = self->backend != NULL ? tsr_backend_get_cluster (self->backend) : NULL;
  if (self->busy || cluster == NULL || !tsr_backend_get_cluster_ready (self->backend))
    return;
  if (!tsr_parse_ssh_target (target, &user, &host, &options.port))
    {
      show_error (self, _ ("Enter the SSH address as user@host or user@host:port."));
      gtk_widget_grab_focus (GTK_WIDGET (self->target_row));
      return;
    }
  if (port_text != NULL && !g_ascii_string_to_unsigned (port_text, 10, 1, 65535, &port, NULL))
    {
      show_error (self, _ ("The node port is a number from 1 to 65535."));
      return;
    }
  if (name != NULL && !tsr_cluster_node_id_is_valid (name))
    {
      show_error (self, _ ("A node name has only letters, digits, “_”, “-” or “.”."));
      return;
    }
  if (address != NULL && !tsr_parse_host_port (address, &address_host, &address_port, FALSE))
    {
      show_error (self, _ ("Enter the address the cluster uses as host:port, for example "
                           "nas.local:7420."));
      return;
    }
  if (capacity != NULL && (!tsr_parse_size (capacity, &options.capacity) || options.capacity == 0))
    {
      show_error (self, _ ("Enter the capacity as a size, for example 500 GB or 2 TB."));
      return;
    }
  listen = g_strdup_printf ("0.0.0.0:%u", (guint)port);
  options.user = user;
  options.host = host;
  options.key_path = key;
  options.local_tesserad = tesserad;
  options.no_provision = gtk_switch_get_active (self->no_provision_switch);
  options.name = name;
  options.listen = listen;
  options.remote_dir = remote_dir;
  options.address = address;

  if (self->op != NULL)
    g_signal_handlers_disconnect_by_data (self->op, self);
  g_clear_object (&self->op);
  self->op = tsr_remote_add_new (cluster, &options);
  self->passphrase_given = FALSE;
  g_signal_connect (self->op, "notify::step", G_CALLBACK (on_step), self);
  run (self);
}

static void
add_action (GtkWidget *widget, const char *action, GVariant *param)
{
  tsr_add_node_dialog_add (TSR_ADD_NODE_DIALOG (widget));
}

static void
on_file_chosen (GtkNativeDialog *chooser, int response, gpointer data)
{
  g_autoptr (GtkWidget) row = data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;
      if (path != NULL)
        gtk_editable_set_text (GTK_EDITABLE (row), path);
    }
  gtk_native_dialog_destroy (chooser);
  g_object_unref (chooser);
}

static void
choose_file (TsrAddNodeDialog *self, const char *title, AdwEntryRow *row)
{
  GtkFileChooserNative *chooser;

  chooser = gtk_file_chooser_native_new (title, GTK_WINDOW (self), GTK_FILE_CHOOSER_ACTION_OPEN,
                                         _ ("_Choose"), _ ("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect (chooser, "response", G_CALLBACK (on_file_chosen), g_object_ref (row));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
choose_key_action (GtkWidget *widget, const char *action, GVariant *param)
{
  TsrAddNodeDialog *self = TSR_ADD_NODE_DIALOG (widget);
  choose_file (self, _ ("Choose SSH Key"), self->key_row);
}

static void
choose_tesserad_action (GtkWidget *widget, const char *action, GVariant *param)
{
  TsrAddNodeDialog *self = TSR_ADD_NODE_DIALOG (widget);
  choose_file (self, _ ("Choose tesserad Program"), self->tesserad_row);
}

static void
tsr_add_node_dialog_dispose (GObject *object)
{
  TsrAddNodeDialog *self = TSR_ADD_NODE_DIALOG (object);

  /* A run still going stops at its next step; its callback finds no backend and returns. */
  g_cancellable_cancel (self->cancellable);
  if (self->confirm != NULL)
    gtk_window_destroy (GTK_WINDOW (self->confirm));
  g_clear_weak_pointer (&self->confirm);
  if (self->unlock != NULL)
    {
      AdwMessageDialog *unlock = self->unlock;

      /* As in on_unlock_response(): the field is emptied and loses focus first. */
      g_clear_weak_pointer (&self->unlock);
      gtk_editable_set_text (GTK_EDITABLE (tsr_add_node_dialog_get_passphrase_row (unlock)), "");
      gtk_window_set_focus (GTK_WINDOW (unlock), NULL);
      gtk_window_destroy (GTK_WINDOW (unlock));
    }
  if (self->op != NULL)
    g_signal_handlers_disconnect_by_data (self->op, self);
  g_clear_object (&self->op);
  g_clear_object (&self->backend);
  gtk_widget_dispose_template (GTK_WIDGET (self), TSR_TYPE_ADD_NODE_DIALOG);
  G_OBJECT_CLASS (tsr_add_node_dialog_parent_class)->dispose (object);
}

static void
tsr_add_node_dialog_finalize (GObject *object)
{
  TsrAddNodeDialog *self = TSR_ADD_NODE_DIALOG (object);

  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (tsr_add_node_dialog_parent_class)->finalize (object);
}

static void
tsr_add_node_dialog_class_init (TsrAddNodeDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tsr_add_node_dialog_dispose;
  object_class->finalize = tsr_add_node_dialog_finalize;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/tessera/Tessera/tsr-add-node-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, TsrAddNodeDialog, form);
  gtk_widget_class_bind_template_child (widget_class, TsrAddNodeDialog, target_row);
  gtk_widget_class_bind_template_child (widget_class, TsrAddNodeDialog, key_row);
  gtk_widget_class_bind_template_child (widget_class, TsrAddNodeDialog, tesserad_row);
  gtk_widget_class_bind_template_child (widget_class, TsrAddNodeDialog, no_provision_switch);
  gtk_widget_class_bind_template_child (widget_class, TsrAddNodeDialog, advanced_row);
  gtk_widget_class_bind_template_child (widget_class, TsrAddNodeDialog, name_row);
  gtk_widget_class_bind_template_child (widget_class, TsrAddNodeDialog, port_row);
  gtk_widget_class_bind_template_child (widget_class, TsrAddNodeDialog, address_row);
  gtk_widget_class_bind_template_child (widget_class, TsrAddNodeDialog, capacity_row);
  gtk_widget_class_bind_template_child (widget_class, TsrAddNodeDialog, remote_dir_row);
  gtk_widget_class_bind_template_child (widget_class, TsrAddNodeDialog, progress_box);
  gtk_widget_class_bind_template_child (widget_class, TsrAddNodeDialog, spinner);
  gtk_widget_class_bind_template_child (widget_class, TsrAddNodeDialog, step_label);
  gtk_widget_class_bind_template_child (widget_class, TsrAddNodeDialog, error_label);
  gtk_widget_class_bind_template_child (widget_class, TsrAddNodeDialog, add_button);
  gtk_widget_class_install_action (widget_class, "add-node.add", NULL, add_action);
  gtk_widget_class_install_action (widget_class, "add-node.choose-key", NULL, choose_key_action);
  gtk_widget_class_install_action (widget_class, "add-node.choose-tesserad", NULL,
                                   choose_tesserad_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);

  /**
   * TsrAddNodeDialog::node-added:
   * @name: the node's name in the cluster (the host's, added with "don't install")
   *
   * The node is in the cluster and the host in remotes.json; the dialog closes.
   */
  signals[SIGNAL_NODE_ADDED] =
      g_signal_new ("node-added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                    G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
tsr_add_node_dialog_init (TsrAddNodeDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  gtk_window_set_default_widget (GTK_WINDOW (self), self->add_button);
  g_signal_connect_swapped (self->target_row, "entry-activated", G_CALLBACK (add_action), self);
}

TsrAddNodeDialog *
tsr_add_node_dialog_new (GtkWindow *parent, TsrBackend *backend)
{
  TsrAddNodeDialog *self = g_object_new (TSR_TYPE_ADD_NODE_DIALOG, "transient-for", parent, NULL);

  self->backend = g_object_ref (backend);
  return self;
}

/* The inline error shown, or %NULL. */
const char *
tsr_add_node_dialog_get_error (TsrAddNodeDialog *self)
{
  g_return_val_if_fail (TSR_IS_ADD_NODE_DIALOG (self), NULL);
  return gtk_widget_get_visible (GTK_WIDGET (self->error_label))
             ? gtk_label_get_text (self->error_label)
             : NULL;
}

gboolean
tsr_add_node_dialog_is_busy (TsrAddNodeDialog *self)
{
  g_return_val_if_fail (TSR_IS_ADD_NODE_DIALOG (self), FALSE);
  return self->busy;
}

/* The open host key question, or %NULL. */
AdwMessageDialog *
tsr_add_node_dialog_get_host_key_question (TsrAddNodeDialog *self)
{
  g_return_val_if_fail (TSR_IS_ADD_NODE_DIALOG (self), NULL);
  return self->confirm;
}

/* The fingerprint as the question shows it. */
const char *
tsr_add_node_dialog_get_shown_fingerprint (TsrAddNodeDialog *self)
{
  GtkWidget *box;

  g_return_val_if_fail (TSR_IS_ADD_NODE_DIALOG (self), NULL);
  if (self->confirm == NULL)
    return NULL;
  box = adw_message_dialog_get_extra_child (self->confirm);
  return gtk_label_get_text (GTK_LABEL (gtk_widget_get_first_child (box)));
}

/* The open passphrase question, or %NULL. */
AdwMessageDialog *
tsr_add_node_dialog_get_passphrase_question (TsrAddNodeDialog *self)
{
  g_return_val_if_fail (TSR_IS_ADD_NODE_DIALOG (self), NULL);
  return self->unlock;
}

/* The passphrase field of @question (see tsr_add_node_dialog_get_passphrase_question()). */
AdwEntryRow *
tsr_add_node_dialog_get_passphrase_row (AdwMessageDialog *question)
{
  GtkWidget *list = adw_message_dialog_get_extra_child (question);

  return ADW_ENTRY_ROW (gtk_list_box_get_row_at_index (GTK_LIST_BOX (list), 0));
}
