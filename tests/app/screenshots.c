/* screenshots.c: pictures of every page for the README and the AppStream metadata
 *
 * Runs the real window on a fresh five-node cluster with a few files, then renders each
 * page at 1280×800 in the light and the dark style: sign-in, enrollment, files, nodes (one
 * stopped, to show failover), topology (with the seed's emulated links), storage and network.
 * build-aux/screenshots runs it under Xvfb.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <locale.h>

#include "tsr-app-test-util.h"
#include "tsr-test-util.h"

static const char *out_dir;
static const char *scheme_name;
static double started;

static void
shoot (GtkWidget *widget, const char *page)
{
  g_autoptr (GdkTexture) texture = NULL;
  g_autofree char *name = g_strdup_printf ("%s-%s.png", page, scheme_name);
  g_autofree char *path = g_build_filename (out_dir, name, NULL);

  tsr_app_test_spin (0.8); /* transitions end, the frame clock draws */
  texture = tsr_app_test_render (widget);
  if (!gdk_texture_save_to_png (texture, path))
    g_error ("Cannot write %s", path);
  g_print ("%.1f s  %s\n", g_get_monotonic_time () / 1e6 - started, path);
}

static gboolean
enroll_ready (gpointer window)
{
  TsrEnrollDialog *d = tsr_window_get_enroll_dialog (window);
  return d != NULL && g_strcmp0 (tsr_enroll_dialog_get_page (d), "scan") == 0;
}

static gboolean
uploads_done (gpointer window)
{
  return tsr_app_test_n_files (window) == 4 &&
         g_list_model_get_n_items (tsr_backend_get_transfers (tsr_window_get_backend (window))) ==
             0;
}

static GFile *
make_file (const char *dir, const char *name, gsize size, GRand *rand)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr (GBytes) bytes = tsr_test_random_bytes (rand, size);

  if (!g_file_set_contents (path, g_bytes_get_data (bytes, NULL), size, NULL))
    g_error ("Cannot write %s", path);
  return g_file_new_for_path (path);
}

/* The Add Node dialog filled in and, where sshd runs (build-aux/screenshots passes SSHD), its
 * question about an unknown host key with a real fingerprint, then the hint shown when the
 * host refuses the key; last, its question for the passphrase of a protected key. */
static void
shoot_add_node (TsrWindow *window, const char *work_dir)
{
  g_autofree char *sshd_dir = g_build_filename (work_dir, "sshd", NULL);
  g_autofree char *authorized = g_build_filename (work_dir, "authorized_keys", NULL);
  g_autofree char *skip = NULL;
  g_autofree char *target = NULL;
  g_autoptr (TsrTestSshd) sshd = NULL;
  TsrAddNodeDialog *dialog;

  g_file_set_contents (authorized, "", 0, NULL);
  sshd = tsr_test_sshd_start (sshd_dir, NULL, authorized, &skip);
  if (sshd == NULL)
    g_print ("No host key question: %s\n", skip);
  target = g_strdup_printf ("ada@127.0.0.1:%u", sshd != NULL ? sshd->port : 2222);
  tsr_window_set_visible_page (window, "nodes");
  gtk_widget_activate_action (GTK_WIDGET (window), "win.add-node", NULL);
  tsr_app_test_spin (0.5);
  dialog = tsr_window_get_add_node_dialog (window);
  tsr_app_test_type_into (GTK_WIDGET (dialog), "SSH Address (user@host or user@host:port)", target);
  tsr_app_test_type_into (GTK_WIDGET (dialog), "tesserad to Upload (optional)",
                          "/home/ada/tessera/_build/src/daemon/tesserad");
  shoot (GTK_WIDGET (dialog), "add-node");
  if (sshd != NULL)
    {
      tsr_add_node_dialog_add (dialog);
      if (tsr_app_test_wait (tsr_app_test_host_key_asked, dialog, 30))
        {
          AdwMessageDialog *ask = tsr_add_node_dialog_get_host_key_question (dialog);
          g_autofree char *known =
              g_build_filename (tsr_backend_get_data_dir (tsr_window_get_backend (window)), "ssh",
                                "known_hosts", NULL);

          shoot (GTK_WIDGET (ask), "add-node-host-key");
          /* Accepted, the host (which knows no key) refuses Tessera's own: the hint. */
          adw_message_dialog_response (ask, "accept");
          gtk_window_close (GTK_WINDOW (ask));
          tsr_app_test_wait (tsr_app_test_add_node_idle, dialog, 30);
          shoot (GTK_WIDGET (dialog), "add-node-refused");
          g_unlink (known); /* the next pass asks again */
        }
      tsr_app_test_spin (0.5);
    }

  /* A key protected by a passphrase: asked for before anything is connected to. */
  {
    g_autofree char *key_path = g_build_filename (work_dir, "id_ed25519", NULL);
    g_autoptr (TsrSshKey) key = tsr_ssh_key_generate (NULL);

    g_unlink (key_path);
    if (key != NULL && tsr_ssh_key_save (key, key_path, "correct horse", "ada@laptop", NULL))
      {
        tsr_app_test_type_into (GTK_WIDGET (dialog), "SSH Key File (optional)", key_path);
        tsr_add_node_dialog_add (dialog);
        if (tsr_app_test_wait (tsr_app_test_passphrase_asked, dialog, 30))
          {
            AdwMessageDialog *ask = tsr_add_node_dialog_get_passphrase_question (dialog);

            gtk_editable_set_text (GTK_EDITABLE (tsr_add_node_dialog_get_passphrase_row (ask)),
                                   "correct horse");
            shoot (GTK_WIDGET (ask), "add-node-passphrase");
            adw_message_dialog_response (ask, "cancel");
            gtk_window_close (GTK_WINDOW (ask));
            tsr_app_test_wait (tsr_app_test_add_node_idle, dialog, 30);
          }
      }
  }
  gtk_window_destroy (GTK_WINDOW (dialog));
}

static void
take_all (const char *data_dir, const char *work_dir, gboolean dark, GRand *rand)
{
  TsrWindow *window;
  TsrEnrollDialog *dialog;
  GFile *files[4];

  adw_style_manager_set_color_scheme (adw_style_manager_get_default (),
                                      dark ? ADW_COLOR_SCHEME_FORCE_DARK
                                           : ADW_COLOR_SCHEME_FORCE_LIGHT);
  scheme_name = dark ? "dark" : "light";
  window = tsr_app_test_open_window (data_dir);
  shoot (GTK_WIDGET (window), "sign-in");

  tsr_app_test_sign_in (window, "ada", "correct horse battery staple", NULL);
  tsr_app_test_wait (tsr_app_test_signed_in, window, 30);
  if (!dark) /* the dark pass finds the same files */
    {
      files[0] = make_file (work_dir, "Holiday video.mp4", 48 * 1024 * 1024, rand);
      files[1] = make_file (work_dir, "Thesis draft.pdf", 3 * 1024 * 1024 + 4321, rand);
      files[2] = make_file (work_dir, "Family photos 2026.tar", 21 * 1024 * 1024, rand);
      files[3] = make_file (work_dir, "budget.ods", 180 * 1024, rand);
      tsr_app_test_drop_files (window, files, 4);
      for (guint i = 0; i < 4; i++)
        g_object_unref (files[i]);
    }
  tsr_app_test_wait (uploads_done, window, 300);
  tsr_backend_refresh (tsr_window_get_backend (window));
  tsr_app_test_spin (1.0);
  shoot (GTK_WIDGET (window), "files");

  tsr_window_set_visible_page (window, "storage");
  shoot (GTK_WIDGET (window), "storage");

  /* The seed's network, shown on its page and on the topology's links. */
  tsr_backend_set_netem_async (tsr_window_get_backend (window), "seed", NULL, NULL, NULL, NULL);
  tsr_app_test_spin (1.0);
  tsr_backend_refresh (tsr_window_get_backend (window));
  tsr_app_test_spin (1.0);
  tsr_window_set_visible_page (window, "network");
  shoot (GTK_WIDGET (window), "network");

  tsr_window_set_visible_page (window, "topology");
  {
    GListModel *model = tsr_backend_get_files (tsr_window_get_backend (window));
    for (guint i = 0; i < g_list_model_get_n_items (model); i++)
      {
        g_autoptr (TsrFileItem) item = g_list_model_get_item (model, i);
        if (g_str_has_prefix (tsr_file_item_get_name (item), "Family"))
          tsr_topology_page_show_file (tsr_window_get_topology_page (window),
                                       tsr_file_item_get_file_id (item));
      }
  }
  tsr_app_test_spin (1.0); /* the chunk map reads the file's manifest on a worker thread */
  shoot (GTK_WIDGET (window), "topology");
  tsr_backend_set_netem_async (tsr_window_get_backend (window), "off", NULL, NULL, NULL, NULL);

  /* Node_04 stopped: the failover picture. */
  tsr_window_set_visible_page (window, "nodes");
  tsr_backend_set_node_enabled_async (tsr_window_get_backend (window), "Node_04", FALSE, NULL, NULL,
                                      NULL);
  tsr_app_test_spin (1.0);
  tsr_backend_refresh (tsr_window_get_backend (window));
  tsr_app_test_spin (1.0);
  shoot (GTK_WIDGET (window), "nodes");
  tsr_backend_set_node_enabled_async (tsr_window_get_backend (window), "Node_04", TRUE, NULL, NULL,
                                      NULL);
  tsr_app_test_spin (1.0);

  tsr_window_set_visible_page (window, "files");
  gtk_widget_activate_action (GTK_WIDGET (window), "win.two-factor", NULL);
  tsr_app_test_wait (enroll_ready, window, 30);
  dialog = tsr_window_get_enroll_dialog (window);
  shoot (GTK_WIDGET (dialog), "enrollment");
  gtk_window_destroy (GTK_WINDOW (dialog));

  shoot_add_node (window, work_dir);
  tsr_app_test_close_window (window);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *data_dir = NULL;
  g_autofree char *work_dir = NULL;
  g_autoptr (GRand) rand = g_rand_new_with_seed (2026);

  if (argc != 2)
    {
      g_printerr ("Usage: %s OUTPUT-DIR\n", argv[0]);
      return 2;
    }
  out_dir = argv[1];
  /* As main.c does, from the build tree's catalogs when TESSERA_LOCALEDIR names them
   * (build-aux/screenshots --lang de). */
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, g_getenv ("TESSERA_LOCALEDIR") != NULL
                                       ? g_getenv ("TESSERA_LOCALEDIR")
                                       : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  started = g_get_monotonic_time () / 1e6;
  g_mkdir_with_parents (out_dir, 0755);
  tsr_app_test_init (&argc, &argv);
  data_dir = g_dir_make_tmp ("tessera-shots-XXXXXX", &error);
  work_dir = g_dir_make_tmp ("tessera-shots-files-XXXXXX", &error);
  g_assert_no_error (error);
  tsr_cluster_init_data_dir (data_dir, 5, 10ull * 1000 * 1000 * 1000, 64 * 1024, 2, &error);
  g_assert_no_error (error);
  tsr_app_test_make_account (data_dir, "ada", "correct horse battery staple");

  take_all (data_dir, work_dir, FALSE, rand);
  take_all (data_dir, work_dir, TRUE, rand);
  tsr_test_rmdir (data_dir);
  tsr_test_rmdir (work_dir);
  return 0;
}
