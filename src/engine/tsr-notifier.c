/* tsr-notifier.c: email notices over SMTP (the seed's EmailNotifier)
 *
 * Configured by DATA_DIR/smtp.json (0600):
 *   {"server": "smtp.example.org", "port": 587, "sender": "tessera@example.org",
 *    "tls": "starttls" | "implicit" | "none", "username": "...", "password": "..."}
 * Without the file, notices are off. Sending is plain GIO: a socket, STARTTLS (or TLS from the
 * start) validated against the system's certificate authorities, AUTH PLAIN when credentials
 * are given, one message, QUIT. Every step has a deadline; a failure is reported to the caller,
 * who logs it and carries on: a notice must never stand in the way of a login.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "tsr-notifier.h"
#include "tsr-error.h"
#include "tsr-json.h"

#include <json-glib/json-glib.h>
#include <string.h>

#define SMTP_TIMEOUT_S 10

struct _TsrNotifier
{
  GObject parent_instance;

  char *server;
  guint16 port;
  char *sender;
  char *tls; /* "none", "starttls" or "implicit" */
  char *username;
  char *password;
};

G_DEFINE_FINAL_TYPE (TsrNotifier, tsr_notifier, G_TYPE_OBJECT)

/* No CR or LF may reach a command line or a header from configuration or names. */
static gboolean
is_single_line (const char *s)
{
  return s != NULL && strpbrk (s, "\r\n") == NULL;
}

/**
 * tsr_notifier_load:
 * @path: DATA_DIR/smtp.json
 *
 * Returns: (transfer full) (nullable): the notifier, or %NULL with no error when the file does
 * not exist (notices off), or %NULL with %TSR_ERROR_CORRUPT when it is malformed
 */
TsrNotifier *
tsr_notifier_load (const char *path, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (TsrNotifier) self = NULL;
  g_autoptr (GError) local_error = NULL;
  JsonObject *o;
  JsonNode *root, *port;
  const char *tls;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return NULL;
  if (!json_parser_load_from_file (parser, path, &local_error) ||
      (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    goto corrupt;
  o = json_node_get_object (root);
  self = g_object_new (TSR_TYPE_NOTIFIER, NULL);
  self->server = g_strdup (tsr_json_get_string (o, "server"));
  self->sender = g_strdup (tsr_json_get_string (o, "sender"));
  tls = tsr_json_get_string (o, "tls");
  self->tls = g_strdup (tls ? tls : "starttls");
  self->username = g_strdup (tsr_json_get_string (o, "username"));
  self->password = g_strdup (tsr_json_get_string (o, "password"));
  port = json_object_get_member (o, "port");
  if (port != NULL && JSON_NODE_HOLDS_VALUE (port) &&
      json_node_get_value_type (port) == G_TYPE_INT64 && json_node_get_int (port) > 0 &&
      json_node_get_int (port) < 65536)
    self->port = json_node_get_int (port);
  else if (port == NULL)
    self->port = g_str_equal (self->tls, "implicit") ? 465 : 587;
  if (!is_single_line (self->server) || !is_single_line (self->sender) || self->port == 0 ||
      (!g_str_equal (self->tls, "none") && !g_str_equal (self->tls, "starttls") &&
       !g_str_equal (self->tls, "implicit")) ||
      (self->username != NULL && !is_single_line (self->username)))
    goto corrupt;
  return g_steal_pointer (&self);

corrupt:
  g_set_error (error, TSR_ERROR, TSR_ERROR_CORRUPT,
               "%s is malformed: it needs server, sender and optionally port, tls "
               "(none, starttls or implicit), username and password",
               path);
  return NULL;
}

/* Reads one reply (possibly multi-line, "250-...") and checks its code's first digit. */
static gboolean
expect (GDataInputStream *in, char want, const char *after, GError **error)
{
  for (;;)
    {
      g_autoptr (GError) local_error = NULL;
      g_autofree char *line = g_data_input_stream_read_line (in, NULL, NULL, &local_error);

      if (line == NULL)
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_IO,
                       "The mail server closed the connection "
                       "after %s%s%s",
                       after, local_error ? ": " : "", local_error ? local_error->message : "");
          return FALSE;
        }
      g_strchomp (line);
      if (strlen (line) < 3 || line[0] != want)
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_FAILED, "The mail server refused %s: %s", after,
                       line);
          return FALSE;
        }
      if (line[3] != '-')
        return TRUE;
    }
}

static gboolean send_line (GOutputStream *out, GError **error, const char *format, ...)
    G_GNUC_PRINTF (3, 4);

static gboolean
send_line (GOutputStream *out, GError **error, const char *format, ...)
{
  g_autofree char *line = NULL;
  g_autoptr (GError) local_error = NULL;
  va_list args;

  va_start (args, format);
  line = g_strdup_vprintf (format, args);
  va_end (args);
  if (!g_output_stream_write_all (out, line, strlen (line), NULL, NULL, &local_error) ||
      !g_output_stream_write_all (out, "\r\n", 2, NULL, NULL, &local_error))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_IO, "Cannot talk to the mail server: %s",
                   local_error->message);
      return FALSE;
    }
  return TRUE;
}

/**
 * tsr_notifier_send:
 * @to: the recipient address
 * @subject: one line
 * @body: the text; lines are sent with CRLF and dot-stuffed
 *
 * Sends one message, blocking (up to a 10-second deadline per step). Call it off the main loop.
 */
gboolean
tsr_notifier_send (TsrNotifier *self, const char *to, const char *subject, const char *body,
                   GError **error)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) conn = NULL;
  g_autoptr (GIOStream) stream = NULL;
  g_autoptr (GDataInputStream) in = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *date = g_date_time_format (now, "%a, %d %b %Y %H:%M:%S %z");
  g_auto (GStrv) lines = NULL;
  GOutputStream *out;

  g_return_val_if_fail (TSR_IS_NOTIFIER (self), FALSE);

  if (!is_single_line (to) || !is_single_line (subject) || strchr (to, '@') == NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT, "Invalid recipient or subject");
      return FALSE;
    }
  g_socket_client_set_timeout (client, SMTP_TIMEOUT_S);
  g_socket_client_set_tls (client, g_str_equal (self->tls, "implicit"));
  conn = g_socket_client_connect_to_host (client, self->server, self->port, NULL, &local_error);
  if (conn == NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_UNREACHABLE, "Cannot reach the mail server %s: %s",
                   self->server, local_error->message);
      return FALSE;
    }
  stream = g_object_ref (G_IO_STREAM (conn));
  in = g_data_input_stream_new (g_io_stream_get_input_stream (stream));
  g_data_input_stream_set_newline_type (in, G_DATA_STREAM_NEWLINE_TYPE_ANY);
  out = g_io_stream_get_output_stream (stream);

  if (!expect (in, '2', "the connection", error) || !send_line (out, error, "EHLO tessera") ||
      !expect (in, '2', "EHLO", error))
    return FALSE;

  if (g_str_equal (self->tls, "starttls"))
    {
      g_autoptr (GIOStream) tls = NULL;
      g_autoptr (GSocketConnectable) identity = NULL;

      if (!send_line (out, error, "STARTTLS") || !expect (in, '2', "STARTTLS", error))
        return FALSE;
      identity = g_network_address_new (self->server, self->port);
      tls = g_tls_client_connection_new (G_IO_STREAM (conn), identity, &local_error);
      if (tls == NULL || !g_tls_connection_handshake (G_TLS_CONNECTION (tls), NULL, &local_error))
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_IO, "TLS with the mail server failed: %s",
                       local_error->message);
          return FALSE;
        }
      g_clear_object (&in);
      g_set_object (&stream, tls);
      in = g_data_input_stream_new (g_io_stream_get_input_stream (stream));
      g_data_input_stream_set_newline_type (in, G_DATA_STREAM_NEWLINE_TYPE_ANY);
      out = g_io_stream_get_output_stream (stream);
      if (!send_line (out, error, "EHLO tessera") || !expect (in, '2', "EHLO", error))
        return FALSE;
    }

  if (self->username != NULL && self->password != NULL)
    {
      g_autoptr (GString) plain = g_string_new (NULL);
      g_autofree char *b64 = NULL;

      g_string_append_c (plain, '\0');
      g_string_append (plain, self->username);
      g_string_append_c (plain, '\0');
      g_string_append (plain, self->password);
      b64 = g_base64_encode ((const guchar *)plain->str, plain->len);
      memset (plain->str, 0, plain->len);
      if (!send_line (out, error, "AUTH PLAIN %s", b64) ||
          !expect (in, '2', "the credentials", error))
        {
          memset (b64, 0, strlen (b64));
          return FALSE;
        }
      memset (b64, 0, strlen (b64));
    }

  if (!send_line (out, error, "MAIL FROM:<%s>", self->sender) ||
      !expect (in, '2', "the sender", error) || !send_line (out, error, "RCPT TO:<%s>", to) ||
      !expect (in, '2', "the recipient", error) || !send_line (out, error, "DATA") ||
      !expect (in, '3', "DATA", error) ||
      !send_line (out, error, "From: Tessera <%s>", self->sender) ||
      !send_line (out, error, "To: <%s>", to) || !send_line (out, error, "Subject: %s", subject) ||
      !send_line (out, error, "Date: %s", date) ||
      !send_line (out, error, "Content-Type: text/plain; charset=utf-8") ||
      !send_line (out, error, "%s", ""))
    return FALSE;
  lines = g_strsplit (body, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_strchomp (lines[i]);
      /* A line starting with a dot is doubled, or the server would read it as the end. */
      if (!send_line (out, error, "%s%s", lines[i][0] == '.' ? "." : "", lines[i]))
        return FALSE;
    }
  if (!send_line (out, error, ".") || !expect (in, '2', "the message", error))
    return FALSE;
  send_line (out, NULL, "QUIT");
  return TRUE;
}

static void
tsr_notifier_finalize (GObject *object)
{
  TsrNotifier *self = TSR_NOTIFIER (object);

  g_free (self->server);
  g_free (self->sender);
  g_free (self->tls);
  g_free (self->username);
  if (self->password != NULL)
    memset (self->password, 0, strlen (self->password));
  g_free (self->password);
  G_OBJECT_CLASS (tsr_notifier_parent_class)->finalize (object);
}

static void
tsr_notifier_class_init (TsrNotifierClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tsr_notifier_finalize;
}

static void
tsr_notifier_init (TsrNotifier *self)
{
}
