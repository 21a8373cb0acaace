/* tsr-app-test-util.h: driving the real app window in tests, screenshots and benchmarks
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "tsr-settings.h"
#include "tsr-window.h"

G_BEGIN_DECLS

typedef gboolean (*TsrTestCondition) (gpointer data);

void tsr_app_test_init (int *argc, char ***argv);
gboolean tsr_app_test_wait (TsrTestCondition condition, gpointer data, double seconds);
void tsr_app_test_spin (double seconds);
GtkWidget *tsr_app_test_find_row (GtkWidget *root, const char *title);
void tsr_app_test_type_into (GtkWidget *root, const char *title, const char *text);
gboolean tsr_app_test_host_key_asked (gpointer dialog);
gboolean tsr_app_test_add_node_idle (gpointer dialog);
gboolean tsr_app_test_passphrase_asked (gpointer dialog);
void tsr_app_test_make_account (const char *data_dir, const char *username, const char *password);
TsrWindow *tsr_app_test_open_window (const char *data_dir);
void tsr_app_test_close_window (TsrWindow *window);
void tsr_app_test_sign_in (TsrWindow *window, const char *username, const char *password,
                           const char *code);
gboolean tsr_app_test_signed_in (gpointer window);
void tsr_app_test_drop_files (TsrWindow *window, GFile **files, guint n_files);
gboolean tsr_app_test_press_key (GtkWidget *widget, guint keyval, GdkModifierType mods);
guint tsr_app_test_n_files (TsrWindow *window);
GdkTexture *tsr_app_test_render (GtkWidget *widget);

G_END_DECLS
