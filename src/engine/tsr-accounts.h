/* tsr-accounts.h: users, passwords, sessions and two-factor codes (the seed's
 * AuthenticationManager and User)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

#include "tsr-crypto.h"

G_BEGIN_DECLS

#define TSR_ACCOUNTS_MAX_FAILURES     5  /* wrong passwords before a lockout */
#define TSR_ACCOUNTS_LOCKOUT_SECONDS  30 /* the first lockout; doubles with each failure after */
#define TSR_ACCOUNTS_SESSION_IDLE     (12 * 3600)
#define TSR_ACCOUNTS_SESSION_ABSOLUTE (7 * 24 * 3600)
#define TSR_ACCOUNTS_BACKUP_CODES     10

/**
 * TsrLogin:
 * @username: who logged in
 * @token: the session token (64 hex characters); only its hash is stored
 * @data_key: the user's data key, unwrapped with the password
 * @backup_codes_left: how many backup codes are left when this login spent one; -1 when it
 *   spent none
 */
typedef struct
{
  char *username;
  char *token;
  TsrKey *data_key;
  int backup_codes_left;
} TsrLogin;

void tsr_login_free (TsrLogin *login);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrLogin, tsr_login_free)

/**
 * TsrOtpEnrollment:
 * @secret: the TOTP secret in base32, for typing into an authenticator app
 * @uri: the otpauth:// URI, for a QR code
 * @backup_codes: (array zero-terminated=1): single-use codes, shown once
 */
typedef struct
{
  char *secret;
  char *uri;
  char **backup_codes;
} TsrOtpEnrollment;

void tsr_otp_enrollment_free (TsrOtpEnrollment *enrollment);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrOtpEnrollment, tsr_otp_enrollment_free)

#define TSR_TYPE_ACCOUNTS (tsr_accounts_get_type ())
G_DECLARE_FINAL_TYPE (TsrAccounts, tsr_accounts, TSR, ACCOUNTS, GObject)

TsrAccounts *tsr_accounts_load (const char *path, GError **error);
void tsr_accounts_set_now (TsrAccounts *self, gint64 unix_time);
gboolean tsr_accounts_set_session_limits (TsrAccounts *self, gint64 idle_seconds,
                                          gint64 absolute_seconds, GError **error);
gboolean tsr_accounts_has_user (TsrAccounts *self, const char *username);
gboolean tsr_accounts_user_has_otp (TsrAccounts *self, const char *username);
char *tsr_accounts_dup_email (TsrAccounts *self, const char *username);

gboolean tsr_accounts_register (TsrAccounts *self, const char *username, const char *email,
                                const char *password, GError **error);
TsrLogin *tsr_accounts_login (TsrAccounts *self, const char *username, const char *password,
                              const char *code, const char *origin, GError **error);
char *tsr_accounts_validate_session (TsrAccounts *self, const char *token, GError **error);
gboolean tsr_accounts_logout (TsrAccounts *self, const char *token, GError **error);
gboolean tsr_accounts_change_password (TsrAccounts *self, const char *username,
                                       const char *old_password, const char *new_password,
                                       GError **error);

TsrOtpEnrollment *tsr_accounts_otp_begin (TsrAccounts *self, const char *username, GError **error);
gboolean tsr_accounts_otp_confirm (TsrAccounts *self, const char *username, const char *password,
                                   const char *current_code, const char *code, GError **error);
gboolean tsr_accounts_otp_disable (TsrAccounts *self, const char *username, const char *password,
                                   const char *code, GError **error);

G_END_DECLS
