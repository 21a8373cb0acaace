/* tsr-json-reader.c: a pull parser for the JSON files Tessera writes itself
 *
 * Manifests and node metadata are read with it rather than with json-glib's JsonParser,
 * whose tree costs far more than the data (20 MB for a 1 GiB file's manifest, 230 bytes per
 * segment of a node's index). The caller walks the text and keeps only what it needs;
 * members it does not know are skipped with tsr_json_reader_skip_value(). The grammar is
 * JSON's; like json-glib, raw control characters in strings are tolerated. Strings are
 * unescaped into r->str, which must be valid UTF-8 without NUL.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "tsr-json-reader.h"

#include <string.h>

void
tsr_json_reader_skip_space (TsrJsonReader *r)
{
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
    r->p++;
}

/* Whether the next character after white space is @c; consumed when it is. */
gboolean
tsr_json_reader_accept (TsrJsonReader *r, char c)
{
  tsr_json_reader_skip_space (r);
  if (r->p < r->end && *r->p == c)
    {
      r->p++;
      return TRUE;
    }
  return FALSE;
}

static gboolean
accept_word (TsrJsonReader *r, const char *word)
{
  gsize len = strlen (word);

  if ((gsize)(r->end - r->p) < len || memcmp (r->p, word, len) != 0)
    return FALSE;
  r->p += len;
  return TRUE;
}

static gboolean
read_hex4 (TsrJsonReader *r, gunichar *out)
{
  gunichar v = 0;

  if (r->end - r->p < 4)
    return FALSE;
  for (int i = 0; i < 4; i++)
    {
      int digit = g_ascii_xdigit_value (r->p[i]);
      if (digit < 0)
        return FALSE;
      v = v * 16 + digit;
    }
  r->p += 4;
  *out = v;
  return TRUE;
}

/* A string into r->str: valid UTF-8, no NUL. */
gboolean
tsr_json_reader_read_string (TsrJsonReader *r)
{
  if (!tsr_json_reader_accept (r, '"'))
    return FALSE;
  g_string_truncate (r->str, 0);
  for (;;)
    {
      const char *run = r->p;
      gunichar c, low;

      while (r->p < r->end && *r->p != '"' && *r->p != '\\' && *r->p != '\0')
        r->p++;
      g_string_append_len (r->str, run, r->p - run);
      if (r->p >= r->end || *r->p == '\0')
        return FALSE;
      if (*r->p++ == '"')
        break;
      if (r->p >= r->end)
        return FALSE;
      switch (*r->p++)
        {
          case '"':
            c = '"';
            break;
          case '\\':
            c = '\\';
            break;
          case '/':
            c = '/';
            break;
          case 'b':
            c = '\b';
            break;
          case 'f':
            c = '\f';
            break;
          case 'n':
            c = '\n';
            break;
          case 'r':
            c = '\r';
            break;
          case 't':
            c = '\t';
            break;
          case 'u':
            if (!read_hex4 (r, &c) || c == 0 || (c >= 0xdc00 && c < 0xe000))
              return FALSE;
            if (c >= 0xd800 && c < 0xdc00)
              {
                if (!accept_word (r, "\\u") || !read_hex4 (r, &low) || low < 0xdc00 ||
                    low >= 0xe000)
                  return FALSE;
                c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
              }
            break;
          default:
            return FALSE;
        }
      g_string_append_unichar (r->str, c);
    }
  return g_utf8_validate (r->str->str, r->str->len, NULL);
}

/* An integer from 0 to @max, as tsr_json_get_uint() accepted them (json-glib reads a number
 * with a fraction or an exponent as a double, and a double was refused). */
gboolean
tsr_json_reader_read_uint (TsrJsonReader *r, guint64 max, guint64 *out)
{
  const char *digits;
  guint64 v = 0;

  tsr_json_reader_skip_space (r);
  digits = r->p;
  while (r->p < r->end && g_ascii_isdigit (*r->p))
    {
      guint d = *r->p++ - '0';
      if (v > (G_MAXUINT64 - d) / 10)
        return FALSE;
      v = v * 10 + d;
    }
  if (r->p == digits || (digits[0] == '0' && r->p - digits > 1) ||
      (r->p < r->end && (*r->p == '.' || *r->p == 'e' || *r->p == 'E')) || v > max)
    return FALSE;
  *out = v;
  return TRUE;
}

static gboolean
skip_digits (TsrJsonReader *r)
{
  const char *digits = r->p;

  while (r->p < r->end && g_ascii_isdigit (*r->p))
    r->p++;
  return r->p > digits;
}

static gboolean
skip_number (TsrJsonReader *r)
{
  if (r->p < r->end && *r->p == '-')
    r->p++;
  if (!skip_digits (r))
    return FALSE;
  if (r->p < r->end && *r->p == '.' && (r->p++, !skip_digits (r)))
    return FALSE;
  if (r->p < r->end && (*r->p == 'e' || *r->p == 'E'))
    {
      r->p++;
      if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
        r->p++;
      if (!skip_digits (r))
        return FALSE;
    }
  return TRUE;
}

/* Any value, for members the caller does not know. */
gboolean
tsr_json_reader_skip_value (TsrJsonReader *r, guint depth)
{
  tsr_json_reader_skip_space (r);
  if (r->p >= r->end || depth > TSR_JSON_READER_MAX_DEPTH)
    return FALSE;
  switch (*r->p)
    {
      case '"':
        return tsr_json_reader_read_string (r);
      case '{':
        r->p++;
        if (tsr_json_reader_accept (r, '}'))
          return TRUE;
        do
          {
            if (!tsr_json_reader_read_string (r) || !tsr_json_reader_accept (r, ':') ||
                !tsr_json_reader_skip_value (r, depth + 1))
              return FALSE;
          }
        while (tsr_json_reader_accept (r, ','));
        return tsr_json_reader_accept (r, '}');
      case '[':
        r->p++;
        if (tsr_json_reader_accept (r, ']'))
          return TRUE;
        do
          {
            if (!tsr_json_reader_skip_value (r, depth + 1))
              return FALSE;
          }
        while (tsr_json_reader_accept (r, ','));
        return tsr_json_reader_accept (r, ']');
      case 't':
        return accept_word (r, "true");
      case 'f':
        return accept_word (r, "false");
      case 'n':
        return accept_word (r, "null");
      default:
        return skip_number (r);
    }
}

/* A member's name into @key (empty when too long to be one the caller knows), and its colon. */
gboolean
tsr_json_reader_read_key (TsrJsonReader *r, char *key, gsize key_size)
{
  if (!tsr_json_reader_read_string (r) || !tsr_json_reader_accept (r, ':'))
    return FALSE;
  if (r->str->len < key_size)
    memcpy (key, r->str->str, r->str->len + 1);
  else
    key[0] = '\0';
  return TRUE;
}

/* Whether only white space is left. */
gboolean
tsr_json_reader_at_end (TsrJsonReader *r)
{
  tsr_json_reader_skip_space (r);
  return r->p == r->end;
}
