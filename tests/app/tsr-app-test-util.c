/* tsr-app-test-util.c: driving the real app window in tests, screenshots and benchmarks
 *
 * The helpers do what a person does: type into the rows they can see by their titles, press
 * Enter, drop files on the window, and wait for the window to show the result.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>
#include <stdlib.h>

#include "tsr-app-test-util.h"
#include "tsr-test-util.h"

static char *data_home;

static void
remove_data_home (void)
{
  tsr_test_rmdir (data_home);
  g_clear_pointer (&data_home, g_free);
}

void
tsr_app_test_init (int *argc, char ***argv)
{
  /* Hermetic: what GTK keeps for the user (the recent files) goes to a directory of the
   * test's own, not to the home directory. */
  data_home = tsr_test_make_tmpdir ();
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  atexit (remove_data_home);
  gtk_init ();
  adw_init ();
  /* The app's stylesheet, as AdwApplication would load it. */
  {
    GtkCssProvider *css = gtk_css_provider_new ();
    gtk_css_provider_load_from_resource (css, "/io/github/tessera/Tessera/style.css");
    gtk_style_context_add_provider_for_display (gdk_display_get_default (),
                                                GTK_STYLE_PROVIDER (css),
                                                GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
    g_object_unref (css);
  }
  /* The app's own icon, as AdwApplication's resource base path would add it. */
  gtk_icon_theme_add_resource_path (gtk_icon_theme_get_for_display (gdk_display_get_default ()),
                                    "/io/github/tessera/Tessera/icons");
}

static gboolean
wake (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Runs the main loop until @condition holds or @seconds pass (a guard against hangs, not a
 * timing check). */
gboolean
tsr_app_test_wait (TsrTestCondition condition, gpointer data, double seconds)
{
  gint64 deadline = g_get_monotonic_time () + (gint64)(seconds * G_USEC_PER_SEC);
  guint id = g_timeout_add (20, wake, NULL);
  gboolean ok;

  while (!(ok = condition (data)) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (id);
  return ok;
}

static gboolean
never (gpointer data)
{
  return FALSE;
}

void
tsr_app_test_spin (double seconds)
{
  tsr_app_test_wait (never, NULL, seconds);
}

/* The first AdwPreferencesRow under @root titled @title (English, looked up in the app's
 * translations so the screenshots can drive a translated window), as a person finds a field. */
GtkWidget *
tsr_app_test_find_row (GtkWidget *root, const char *title)
{
  if (ADW_IS_PREFERENCES_ROW (root) && gtk_widget_get_mapped (root) &&
      g_strcmp0 (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (root)),
                 g_dgettext (GETTEXT_PACKAGE, title)) == 0)
    return root;
  /* Only a stack's shown page: the others may still be mapped while a transition runs. */
  if (GTK_IS_STACK (root))
    {
      GtkWidget *page = gtk_stack_get_visible_child (GTK_STACK (root));
      return page != NULL ? tsr_app_test_find_row (page, title) : NULL;
    }
  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = tsr_app_test_find_row (c, title);
      if (found != NULL)
        return found;
    }
  return NULL;
}

void
tsr_app_test_make_account (const char *data_dir, const char *username, const char *password)
{
  g_autofree char *path = g_build_filename (data_dir, "accounts.json", NULL);
  g_autoptr (TsrAccounts) accounts = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (data_dir, 0700), ==, 0);
  accounts = tsr_accounts_load (path, &error);
  g_assert_no_error (error);
  tsr_accounts_register (accounts, username, "someone@example.org", password, &error);
  g_assert_no_error (error);
}

static gboolean
accounts_ready (gpointer data)
{
  return tsr_backend_get_accounts_ready (data) && tsr_backend_get_cluster_ready (data);
}

/* A window on @data_dir's cluster, shown, with the nodes up. */
TsrWindow *
tsr_app_test_open_window (const char *data_dir)
{
  g_autoptr (TsrBackend) backend = tsr_backend_new (data_dir);
  g_autoptr (GSettings) settings = tsr_settings_new ();
  TsrWindow *window;

  /* Every window starts from the defaults: the memory backend keeps what the last test's
   * window remembered (its page, its size) for the whole process. */
  if (settings != NULL)
    {
      g_autoptr (GSettingsSchema) schema = NULL;
      g_auto (GStrv) keys = NULL;
      g_object_get (settings, "settings-schema", &schema, NULL);
      keys = g_settings_schema_list_keys (schema);
      for (guint i = 0; keys[i] != NULL; i++)
        g_settings_reset (settings, keys[i]);
    }
  tsr_backend_start (backend);
  window = tsr_window_new (NULL, backend);
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 800);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (tsr_app_test_wait (accounts_ready, backend, 60));
  return window;
}

static gboolean
backend_released (gpointer data)
{
  return *(gpointer *)data == NULL;
}

void
tsr_app_test_close_window (TsrWindow *window)
{
  TsrBackend *backend = g_object_ref (tsr_window_get_backend (window));
  gpointer weak = backend;

  gtk_window_destroy (GTK_WINDOW (window));
  tsr_backend_shutdown (backend);
  g_object_add_weak_pointer (G_OBJECT (backend), &weak);
  g_object_unref (backend);
  /* Pending callbacks hold the backend until they run; let them, so the data dir is free. */
  g_assert_true (tsr_app_test_wait (backend_released, &weak, 30));
}

/* Types @text into the row titled @title under @root, as a person fills a field in. */
void
tsr_app_test_type_into (GtkWidget *root, const char *title, const char *text)
{
  GtkWidget *row = tsr_app_test_find_row (root, title);

  if (row == NULL)
    g_error ("No row “%s” is shown", title);
  gtk_editable_set_text (GTK_EDITABLE (row), text);
}

/* For tsr_app_test_wait(): the Add Node dialog asks about the host key. */
gboolean
tsr_app_test_host_key_asked (gpointer dialog)
{
  AdwMessageDialog *ask = tsr_add_node_dialog_get_host_key_question (dialog);
  return ask != NULL && gtk_widget_get_mapped (GTK_WIDGET (ask));
}

/* For tsr_app_test_wait(): the Add Node dialog asks for an SSH key's passphrase. */
gboolean
tsr_app_test_passphrase_asked (gpointer dialog)
{
  AdwMessageDialog *ask = tsr_add_node_dialog_get_passphrase_question (dialog);
  return ask != NULL && gtk_widget_get_mapped (GTK_WIDGET (ask));
}

/* For tsr_app_test_wait(): the Add Node dialog is not working on a run. */
gboolean
tsr_app_test_add_node_idle (gpointer dialog)
{
  return !tsr_add_node_dialog_is_busy (dialog);
}

static gboolean
code_row_shown (gpointer window)
{
  return tsr_app_test_find_row (window, "Two-Factor Code or Backup Code") != NULL;
}

/* Types into the sign-in form and presses Enter in the password field; with @code, waits
 * for the code field (shown once the password was found right), types the code there and
 * presses Enter again. */
void
tsr_app_test_sign_in (TsrWindow *window, const char *username, const char *password,
                      const char *code)
{
  GtkWidget *row;

  tsr_app_test_type_into (GTK_WIDGET (window), "Username", username);
  tsr_app_test_type_into (GTK_WIDGET (window), "Password", password);
  row = tsr_app_test_find_row (GTK_WIDGET (window), "Password");
  g_signal_emit_by_name (row, "entry-activated");
  if (code == NULL)
    return;
  if (!tsr_app_test_wait (code_row_shown, window, 30))
    g_error ("The sign-in page did not ask for a code");
  tsr_app_test_type_into (GTK_WIDGET (window), "Two-Factor Code or Backup Code", code);
  row = tsr_app_test_find_row (GTK_WIDGET (window), "Two-Factor Code or Backup Code");
  g_signal_emit_by_name (row, "entry-activated");
}

gboolean
tsr_app_test_signed_in (gpointer window)
{
  return g_strcmp0 (tsr_window_get_visible_page (window), "sign-in") != 0;
}

/* Drops @files on the window as a file manager does: one GdkFileList. */
void
tsr_app_test_drop_files (TsrWindow *window, GFile **files, guint n_files)
{
  GdkFileList *list = gdk_file_list_new_from_array (files, n_files);
  GValue value = G_VALUE_INIT;
  gboolean accepted = FALSE;

  g_value_init (&value, GDK_TYPE_FILE_LIST);
  g_value_take_boxed (&value, list);
  g_signal_emit_by_name (tsr_window_get_drop_target (window), "drop", &value, 10.0, 10.0,
                         &accepted);
  g_value_unset (&value);
  g_assert_true (accepted);
}

/* Presses @keyval with @mods on @widget as far as its key bindings go: the first shortcut for
 * those keys on @widget or an ancestor (where the key press bubbles) whose action runs.
 * Returns whether one ran. */
gboolean
tsr_app_test_press_key (GtkWidget *widget, guint keyval, GdkModifierType mods)
{
  g_autoptr (GtkShortcutTrigger) pressed = gtk_keyval_trigger_new (keyval, mods);

  for (GtkWidget *w = widget; w != NULL; w = gtk_widget_get_parent (w))
    {
      g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (w);

      for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
        {
          g_autoptr (GObject) controller = g_list_model_get_item (controllers, i);

          if (!GTK_IS_SHORTCUT_CONTROLLER (controller))
            continue;
          for (guint j = 0; j < g_list_model_get_n_items (G_LIST_MODEL (controller)); j++)
            {
              g_autoptr (GtkShortcut) shortcut =
                  g_list_model_get_item (G_LIST_MODEL (controller), j);
              GtkShortcutTrigger *trigger = gtk_shortcut_get_trigger (shortcut);

              if (trigger != NULL && gtk_shortcut_trigger_equal (trigger, pressed) &&
                  gtk_shortcut_action_activate (gtk_shortcut_get_action (shortcut), 0, w,
                                                gtk_shortcut_get_arguments (shortcut)))
                return TRUE;
            }
        }
    }
  return FALSE;
}

/* The rows the file list shows. */
guint
tsr_app_test_n_files (TsrWindow *window)
{
  return g_list_model_get_n_items (
      tsr_files_page_get_visible_files (tsr_window_get_files_page (window)));
}

/* What @widget looks like on screen, rendered by the window's own renderer. */
GdkTexture *
tsr_app_test_render (GtkWidget *widget)
{
  g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  GskRenderNode *node;
  GdkTexture *texture;

  gdk_paintable_snapshot (paintable, snapshot, w, h);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (gtk_widget_get_native (widget)),
                                         node, &GRAPHENE_RECT_INIT (0, 0, w, h));
  gsk_render_node_unref (node);
  return texture;
}
