/* main.c: the tessera desktop app
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <malloc.h>

#include "tsr-application.h"

int
main (int argc, char **argv)
{
  g_autoptr (TsrApplication) app = NULL;

  setlocale (LC_ALL, "");
  /* TESSERA_LOCALEDIR: the build tree's catalogs, for running and testing uninstalled (as
   * tessera-cli and tesserad). */
  bindtextdomain (GETTEXT_PACKAGE, g_getenv ("TESSERA_LOCALEDIR") != NULL
                                       ? g_getenv ("TESSERA_LOCALEDIR")
                                       : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  /* Many I/O threads each growing an arena would double the memory a transfer needs. */
  mallopt (M_ARENA_MAX, 2);

  app = tsr_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
