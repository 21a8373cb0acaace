/* tsr-test-util.h: helpers shared by the test programs
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

char *tsr_test_make_tmpdir (void);
void tsr_test_rmdir (const char *path);
GBytes *tsr_test_random_bytes (GRand *rand, gsize len);
guint64 tsr_test_sum_file_sizes (const char *dir);
gboolean tsr_test_dir_is_empty (const char *dir);

G_END_DECLS
