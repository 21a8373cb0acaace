/* tsr-sign-in-page.c: sign in, or create an account
 *
 * The password hash takes a tenth of a second and 64 MiB, so both forms submit to the
 * backend's worker thread and show a spinner; errors appear inline under the form. The
 * page emits ::signed-in (with whether the account is new, so the window can offer
 * two-factor set-up).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "tsr-sign-in-page.h"

struct _TsrSignInPage
{
  AdwBin parent_instance;

  GtkStack *mode_stack;
  AdwEntryRow *username_row;
  AdwEntryRow *password_row;
  AdwEntryRow *code_row;
  AdwEntryRow *new_username_row;
  AdwEntryRow *email_row;
  AdwEntryRow *new_password_row;
  AdwEntryRow *confirm_row;
  GtkLabel *title_label;
  GtkLabel *error_label;
  GtkButton *submit_button;
  GtkButton *switch_button;
  GtkSpinner *spinner;
  GtkLabel *status_label;

  TsrBackend *backend;
  gboolean busy;
};

G_DEFINE_FINAL_TYPE (TsrSignInPage, tsr_sign_in_page, ADW_TYPE_BIN)

enum
{
  SIGNAL_SIGNED_IN,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static gboolean
registering (TsrSignInPage *self)
{
  return g_strcmp0 (gtk_stack_get_visible_child_name (self->mode_stack), "register") == 0;
}

static void
update_sensitivity (TsrSignInPage *self)
{
  gboolean ready = self->backend != NULL && tsr_backend_get_accounts_ready (self->backend);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "sign-in.submit", ready && !self->busy);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "sign-in.switch-mode", !self->busy);
  gtk_spinner_set_spinning (self->spinner, self->busy || !ready);
}

/* Shows @message under the form (none when NULL): in red unless it only asks for more. */
static void
show_message (TsrSignInPage *self, const char *message, gboolean is_error)
{
  gtk_label_set_text (self->error_label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), message != NULL);
  if (is_error)
    gtk_widget_add_css_class (GTK_WIDGET (self->error_label), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->error_label), "error");
}

static void
show_error (TsrSignInPage *self, const char *message)
{
  show_message (self, message, TRUE);
}

static void
update_status (TsrSignInPage *self)
{
  const char *error = self->backend != NULL ? tsr_backend_get_start_error (self->backend) : NULL;

  if (error != NULL)
    {
      g_autofree char *text = g_strdup_printf (_ ("Tessera could not start: %s"), error);
      gtk_label_set_text (self->status_label, text);
    }
  else if (self->backend == NULL || !tsr_backend_get_accounts_ready (self->backend))
    gtk_label_set_text (self->status_label, _ ("Opening your data…"));
  else if (!tsr_backend_get_cluster_ready (self->backend))
    gtk_label_set_text (self->status_label, _ ("Starting the nodes…"));
  else
    gtk_label_set_text (self->status_label, "");
  update_sensitivity (self);
}

static void
clear_secret_rows (TsrSignInPage *self)
{
  gtk_editable_set_text (GTK_EDITABLE (self->password_row), "");
  gtk_editable_set_text (GTK_EDITABLE (self->code_row), "");
  gtk_editable_set_text (GTK_EDITABLE (self->new_password_row), "");
  gtk_editable_set_text (GTK_EDITABLE (self->confirm_row), "");
}

static void
on_submitted (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (TsrSignInPage) self = data;
  g_autoptr (GError) error = NULL;
  gboolean created = g_task_get_source_tag (G_TASK (result)) == tsr_backend_register_async;
  gboolean ok;

  ok = created ? tsr_backend_register_finish (TSR_BACKEND (source), result, &error)
               : tsr_backend_sign_in_finish (TSR_BACKEND (source), result, &error);
  self->busy = FALSE;
  update_sensitivity (self);
  if (!ok)
    {
      gboolean code_needed = g_error_matches (error, TSR_ERROR, TSR_ERROR_CODE_NEEDED);

      show_message (self, error->message, !code_needed);
      if (created)
        return;
      /* The code field appears once the password was right: a wrong one does not tell
       * whether the account has two-factor. A wrong code clears the code, a wrong password
       * the password. */
      if (code_needed || gtk_widget_get_visible (GTK_WIDGET (self->code_row)))
        {
          gtk_widget_set_visible (GTK_WIDGET (self->code_row), TRUE);
          gtk_editable_set_text (GTK_EDITABLE (self->code_row), "");
          gtk_widget_grab_focus (GTK_WIDGET (self->code_row));
        }
      else
        {
          gtk_editable_set_text (GTK_EDITABLE (self->password_row), "");
          gtk_widget_grab_focus (GTK_WIDGET (self->password_row));
        }
      return;
    }
  show_error (self, NULL);
  clear_secret_rows (self);
  gtk_widget_set_visible (GTK_WIDGET (self->code_row), FALSE);
  g_signal_emit (self, signals[SIGNAL_SIGNED_IN], 0, created);
}

static void
submit (GtkWidget *widget, const char *action, GVariant *param)
{
  TsrSignInPage *self = TSR_SIGN_IN_PAGE (widget);

  if (self->busy || self->backend == NULL || !tsr_backend_get_accounts_ready (self->backend))
    return;
  if (registering (self))
    {
      const char *name = gtk_editable_get_text (GTK_EDITABLE (self->new_username_row));
      const char *email = gtk_editable_get_text (GTK_EDITABLE (self->email_row));
      const char *password = gtk_editable_get_text (GTK_EDITABLE (self->new_password_row));
      const char *confirm = gtk_editable_get_text (GTK_EDITABLE (self->confirm_row));

      if (*name == '\0' || *email == '\0' || *password == '\0')
        {
          show_error (self, _ ("Fill in a username, an email address and a password."));
          return;
        }
      if (g_strcmp0 (password, confirm) != 0)
        {
          show_error (self, _ ("The passwords do not match."));
          gtk_widget_grab_focus (GTK_WIDGET (self->confirm_row));
          return;
        }
      tsr_backend_register_async (self->backend, name, email, password, NULL, on_submitted,
                                  g_object_ref (self));
      gtk_editable_set_text (GTK_EDITABLE (self->username_row), name);
    }
  else
    {
      const char *name = gtk_editable_get_text (GTK_EDITABLE (self->username_row));
      const char *password = gtk_editable_get_text (GTK_EDITABLE (self->password_row));
      const char *code = gtk_editable_get_text (GTK_EDITABLE (self->code_row));

      if (*name == '\0' || *password == '\0')
        {
          show_error (self, _ ("Enter your username and password."));
          return;
        }
      tsr_backend_sign_in_async (self->backend, name, password, code, NULL, on_submitted,
                                 g_object_ref (self));
    }
  self->busy = TRUE;
  show_error (self, NULL);
  update_sensitivity (self);
}

static void
switch_mode (GtkWidget *widget, const char *action, GVariant *param)
{
  TsrSignInPage *self = TSR_SIGN_IN_PAGE (widget);
  gboolean to_register = !registering (self);

  gtk_stack_set_visible_child_name (self->mode_stack, to_register ? "register" : "sign-in");
  gtk_label_set_text (self->title_label,
                      to_register ? _ ("Create an Account") : _ ("Welcome to Tessera"));
  gtk_button_set_label (self->submit_button, to_register ? _ ("_Create Account") : _ ("_Sign In"));
  gtk_button_set_label (self->switch_button,
                        to_register ? _ ("_Back to Sign In") : _ ("_Create an Account"));
  show_error (self, NULL);
  /* A name typed in one form is not typed again in the other. */
  if (to_register && *gtk_editable_get_text (GTK_EDITABLE (self->new_username_row)) == '\0')
    gtk_editable_set_text (GTK_EDITABLE (self->new_username_row),
                           gtk_editable_get_text (GTK_EDITABLE (self->username_row)));
  gtk_widget_grab_focus (GTK_WIDGET (to_register ? self->new_username_row : self->username_row));
}

/* The code field belongs to the name and password that were found right: another name or
 * password hides it again, so that an error with it showing is about the code. */
static void
on_credentials_changed (TsrSignInPage *self)
{
  if (!gtk_widget_get_visible (GTK_WIDGET (self->code_row)))
    return;
  gtk_widget_set_visible (GTK_WIDGET (self->code_row), FALSE);
  gtk_editable_set_text (GTK_EDITABLE (self->code_row), "");
}

static void
on_entry_activated (TsrSignInPage *self)
{
  gtk_widget_activate_action (GTK_WIDGET (self), "sign-in.submit", NULL);
}

static void
tsr_sign_in_page_dispose (GObject *object)
{
  TsrSignInPage *self = TSR_SIGN_IN_PAGE (object);

  if (self->backend != NULL)
    g_signal_handlers_disconnect_by_data (self->backend, self);
  g_clear_object (&self->backend);
  gtk_widget_dispose_template (GTK_WIDGET (self), TSR_TYPE_SIGN_IN_PAGE);
  G_OBJECT_CLASS (tsr_sign_in_page_parent_class)->dispose (object);
}

static void
tsr_sign_in_page_class_init (TsrSignInPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tsr_sign_in_page_dispose;

  /**
   * TsrSignInPage::signed-in:
   * @created: whether the account was just created
   */
  signals[SIGNAL_SIGNED_IN] =
      g_signal_new ("signed-in", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                    G_TYPE_NONE, 1, G_TYPE_BOOLEAN);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/tessera/Tessera/tsr-sign-in-page.ui");
  gtk_widget_class_bind_template_child (widget_class, TsrSignInPage, mode_stack);
  gtk_widget_class_bind_template_child (widget_class, TsrSignInPage, username_row);
  gtk_widget_class_bind_template_child (widget_class, TsrSignInPage, password_row);
  gtk_widget_class_bind_template_child (widget_class, TsrSignInPage, code_row);
  gtk_widget_class_bind_template_child (widget_class, TsrSignInPage, new_username_row);
  gtk_widget_class_bind_template_child (widget_class, TsrSignInPage, email_row);
  gtk_widget_class_bind_template_child (widget_class, TsrSignInPage, new_password_row);
  gtk_widget_class_bind_template_child (widget_class, TsrSignInPage, confirm_row);
  gtk_widget_class_bind_template_child (widget_class, TsrSignInPage, title_label);
  gtk_widget_class_bind_template_child (widget_class, TsrSignInPage, error_label);
  gtk_widget_class_bind_template_child (widget_class, TsrSignInPage, submit_button);
  gtk_widget_class_bind_template_child (widget_class, TsrSignInPage, switch_button);
  gtk_widget_class_bind_template_child (widget_class, TsrSignInPage, spinner);
  gtk_widget_class_bind_template_child (widget_class, TsrSignInPage, status_label);
  gtk_widget_class_install_action (widget_class, "sign-in.submit", NULL, submit);
  gtk_widget_class_install_action (widget_class, "sign-in.switch-mode", NULL, switch_mode);
}

static void
tsr_sign_in_page_init (TsrSignInPage *self)
{
  AdwEntryRow *rows[7];

  gtk_widget_init_template (GTK_WIDGET (self));
  rows[0] = self->username_row;
  rows[1] = self->password_row;
  rows[2] = self->code_row;
  rows[3] = self->new_username_row;
  rows[4] = self->email_row;
  rows[5] = self->new_password_row;
  rows[6] = self->confirm_row;
  /* Enter in any field submits the form. */
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    g_signal_connect_swapped (rows[i], "entry-activated", G_CALLBACK (on_entry_activated), self);
  g_signal_connect_swapped (self->username_row, "changed", G_CALLBACK (on_credentials_changed),
                            self);
  g_signal_connect_swapped (self->password_row, "changed", G_CALLBACK (on_credentials_changed),
                            self);
  update_sensitivity (self);
}

void
tsr_sign_in_page_set_backend (TsrSignInPage *self, TsrBackend *backend)
{
  g_return_if_fail (TSR_IS_SIGN_IN_PAGE (self));
  g_return_if_fail (self->backend == NULL);

  self->backend = g_object_ref (backend);
  g_signal_connect_swapped (backend, "notify::accounts-ready", G_CALLBACK (update_status), self);
  g_signal_connect_swapped (backend, "notify::cluster-ready", G_CALLBACK (update_status), self);
  g_signal_connect_swapped (backend, "notify::start-error", G_CALLBACK (update_status), self);
  update_status (self);
}

/* Back to an empty sign-in form, as after signing out. */
void
tsr_sign_in_page_reset (TsrSignInPage *self)
{
  g_return_if_fail (TSR_IS_SIGN_IN_PAGE (self));
  if (registering (self))
    switch_mode (GTK_WIDGET (self), NULL, NULL);
  clear_secret_rows (self);
  gtk_widget_set_visible (GTK_WIDGET (self->code_row), FALSE);
  show_error (self, NULL);
  gtk_widget_grab_focus (GTK_WIDGET (self->username_row));
}

/* The inline error the user sees, or %NULL. */
const char *
tsr_sign_in_page_get_error (TsrSignInPage *self)
{
  g_return_val_if_fail (TSR_IS_SIGN_IN_PAGE (self), NULL);
  return gtk_widget_get_visible (GTK_WIDGET (self->error_label))
             ? gtk_label_get_text (self->error_label)
             : NULL;
}

/* The label under the form: red for an error, plain when it only asks for a code. */
GtkLabel *
tsr_sign_in_page_get_error_label (TsrSignInPage *self)
{
  g_return_val_if_fail (TSR_IS_SIGN_IN_PAGE (self), NULL);
  return self->error_label;
}
