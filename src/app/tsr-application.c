/* tsr-application.c: the Tessera desktop app
 *
 * One instance per user session (a second launch presents the first window). The engine
 * starts in the background when the app starts, so the window shows at once.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "tsr-application.h"
#include "tsr-settings.h"
#include "tsr-window.h"

struct _TsrApplication
{
  AdwApplication parent_instance;
  char *data_dir;
  TsrBackend *backend;
  GSettings *settings; /* NULL when the schema is not installed */
};

G_DEFINE_FINAL_TYPE (TsrApplication, tsr_application, ADW_TYPE_APPLICATION)

static int
tsr_application_handle_local_options (GApplication *app, GVariantDict *options)
{
  TsrApplication *self = TSR_APPLICATION (app);
  const char *dir = NULL;

  if (g_variant_dict_lookup (options, "version", "b", NULL))
    {
      g_print ("tessera %s\n", PACKAGE_VERSION);
      return 0;
    }
  if (g_variant_dict_lookup (options, "data-dir", "^&ay", &dir))
    self->data_dir = g_canonicalize_filename (dir, NULL);
  return -1;
}

/**
 * tsr_application_set_accels:
 *
 * Gives @app the app's keyboard shortcuts for app.quit and the shortcuts window (the
 * window's other keys are its own bindings), as at start-up.
 */
void
tsr_application_set_accels (GtkApplication *app)
{
  static const char *quit[] = { "<Control>q", NULL };
  static const char *help[] = { "<Control>question", NULL };

  g_return_if_fail (GTK_IS_APPLICATION (app));
  gtk_application_set_accels_for_action (app, "app.quit", quit);
  gtk_application_set_accels_for_action (app, "win.show-help-overlay", help);
}

static void
tsr_application_startup (GApplication *app)
{
  TsrApplication *self = TSR_APPLICATION (app);
  g_autofree char *dir = NULL;

  G_APPLICATION_CLASS (tsr_application_parent_class)->startup (app);

  tsr_application_set_accels (GTK_APPLICATION (app));
  dir = self->data_dir != NULL ? g_strdup (self->data_dir) : tsr_default_data_dir ();
  self->backend = tsr_backend_new (dir);
  /* Bound before the start, so the cluster takes the user's interval as soon as it is up;
   * a change in the settings reaches a running cluster too. */
  self->settings = tsr_settings_new ();
  if (self->settings != NULL)
    g_settings_bind (self->settings, "health-check-interval", self->backend, "health-interval",
                     G_SETTINGS_BIND_GET);
  tsr_backend_start (self->backend);
}

static void
tsr_application_activate (GApplication *app)
{
  TsrApplication *self = TSR_APPLICATION (app);
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (app));

  if (window == NULL)
    window = GTK_WINDOW (tsr_window_new (GTK_APPLICATION (app), self->backend));
  gtk_window_present (window);
}

static void
tsr_application_shutdown (GApplication *app)
{
  TsrApplication *self = TSR_APPLICATION (app);

  if (self->backend != NULL)
    tsr_backend_shutdown (self->backend);
  G_APPLICATION_CLASS (tsr_application_parent_class)->shutdown (app);
}

static void
tsr_application_finalize (GObject *object)
{
  TsrApplication *self = TSR_APPLICATION (object);

  g_clear_object (&self->settings);
  g_clear_object (&self->backend);
  g_free (self->data_dir);
  G_OBJECT_CLASS (tsr_application_parent_class)->finalize (object);
}

static void
tsr_application_class_init (TsrApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = tsr_application_finalize;
  app_class->handle_local_options = tsr_application_handle_local_options;
  app_class->startup = tsr_application_startup;
  app_class->activate = tsr_application_activate;
  app_class->shutdown = tsr_application_shutdown;
}

static void
quit_action (GSimpleAction *action, GVariant *param, gpointer data)
{
  g_autoptr (GList) windows = g_list_copy (gtk_application_get_windows (GTK_APPLICATION (data)));

  /* Closing rather than g_application_quit(): each window saves its size on the way out,
   * and the app ends with its last window. */
  for (GList *l = windows; l != NULL; l = l->next)
    gtk_window_close (l->data);
}

static void
about_action (GSimpleAction *action, GVariant *param, gpointer data)
{
  static const char *developers[] = { "The Tessera developers", NULL };
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (data));

  adw_show_about_window (parent, "application-name", "Tessera", "application-icon", TSR_APP_ID,
                         "version", PACKAGE_VERSION, "developer-name", _ ("The Tessera developers"),
                         "developers", developers, "comments",
                         _ ("Peer-to-peer file storage: your files, split into encrypted "
                            "pieces and kept on all your machines."),
                         /* Translators: your names, one a line, for the About window */
                         "translator-credits", _ ("translator-credits"), "website",
                         "https://github.com/tessera/tessera", "license-type", GTK_LICENSE_GPL_3_0,
                         "copyright", "© 2026 The Tessera developers", NULL);
}

static void
tsr_application_init (TsrApplication *self)
{
  static const GActionEntry entries[] = {
    { "quit", quit_action, NULL, NULL, NULL, { 0 } },
    { "about", about_action, NULL, NULL, NULL, { 0 } },
  };
  static const GOptionEntry options[] = {
    { "data-dir", 'd', 0, G_OPTION_ARG_FILENAME, NULL,
      N_ ("Keep the cluster, accounts and catalog in DIR (default: $TESSERA_DATA_DIR or "
          "~/.local/share/tessera)"),
      N_ ("DIR") },
    { "version", 0, 0, G_OPTION_ARG_NONE, NULL, N_ ("Print the version and exit"), NULL },
    { NULL }
  };

  g_action_map_add_action_entries (G_ACTION_MAP (self), entries, G_N_ELEMENTS (entries), self);
  g_application_add_main_option_entries (G_APPLICATION (self), options);
}

TsrApplication *
tsr_application_new (void)
{
  return g_object_new (TSR_TYPE_APPLICATION, "application-id", TSR_APP_ID, "flags",
                       G_APPLICATION_DEFAULT_FLAGS, "resource-base-path",
                       "/io/github/tessera/Tessera", NULL);
}

TsrBackend *
tsr_application_get_backend (TsrApplication *self)
{
  g_return_val_if_fail (TSR_IS_APPLICATION (self), NULL);
  return self->backend;
}
