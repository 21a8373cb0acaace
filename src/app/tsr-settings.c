/* tsr-settings.c: the app's GSettings, when its schema is installed
 *
 * g_settings_new() aborts when the schema is missing, which is the case for a binary run
 * straight from a build tree without GSETTINGS_SCHEMA_DIR. The app then keeps its defaults
 * for the session instead of refusing to start.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "tsr-settings.h"

/**
 * tsr_settings_new:
 *
 * Returns: (transfer full) (nullable): the settings of `io.github.tessera.Tessera`, or %NULL
 * (with one message in the log) when the schema is not installed
 */
GSettings *
tsr_settings_new (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr (GSettingsSchema) schema = NULL;
  static gsize warned;

  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, TSR_APP_ID, TRUE);
  if (schema == NULL)
    {
      if (g_once_init_enter (&warned))
        {
          g_message ("The settings schema %s is not installed: window size, last page and "
                     "health-check interval will not be remembered",
                     TSR_APP_ID);
          g_once_init_leave (&warned, 1);
        }
      return NULL;
    }
  return g_settings_new_full (schema, NULL, NULL);
}
