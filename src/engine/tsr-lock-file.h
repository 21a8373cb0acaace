/* tsr-lock-file.h: one owner per directory, with a kernel lock so a crash never leaves it stale
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _TsrLockFile TsrLockFile;

TsrLockFile *tsr_lock_file_acquire (const char *path, const char *what, GError **error);
void tsr_lock_file_release (TsrLockFile *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrLockFile, tsr_lock_file_release)

G_END_DECLS
