/* tsr-ssh-key.h: an SSH key pair (the seed's SSHKeyManager)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>
#include <libssh/libssh.h>

G_BEGIN_DECLS

#define TSR_TYPE_SSH_KEY (tsr_ssh_key_get_type ())
G_DECLARE_FINAL_TYPE (TsrSshKey, tsr_ssh_key, TSR, SSH_KEY, GObject)

TsrSshKey *tsr_ssh_key_generate (GError **error);
TsrSshKey *tsr_ssh_key_load (const char *path, const char *passphrase, GError **error);
gboolean tsr_ssh_key_save (TsrSshKey *self, const char *path, const char *passphrase,
                           const char *comment, GError **error);
gboolean tsr_ssh_key_is_encrypted_file (const char *path);

char *tsr_ssh_key_dup_public_line (TsrSshKey *self, const char *comment);
char *tsr_ssh_key_dup_fingerprint (TsrSshKey *self);
ssh_key tsr_ssh_key_get_handle (TsrSshKey *self);

char *tsr_ssh_fingerprint_of (ssh_key key);

G_END_DECLS
