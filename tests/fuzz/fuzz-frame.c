/* fuzz-frame.c: libFuzzer target for the wire framing (src/engine/tsr-frame.c)
 *
 * The input is what a peer could send on one connection: frames back to back. Each is decoded
 * from the buffer with tsr_frame_decode() and read from a stream over the same bytes with
 * tsr_frame_read(); both must reach the same verdict, since the stream is what the network
 * path runs. Every frame accepted is written back out with tsr_frame_write() and decoded again,
 * so the writer's checks and the reader's agree.
 *
 * Built with libFuzzer under -Dfuzzing=true, and otherwise with fuzz-driver.c, which replays
 * the corpus as a regression test.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tessera.h"

#include <stdint.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  /* A g_return_if_fail() hit is a bug the fuzzer found: make it a crash, not a log line. */
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  return 0;
}

static GBytes *
pack (const ProtobufCMessage *body)
{
  gsize len = protobuf_c_message_get_packed_size (body);
  guint8 *buf = g_malloc (MAX (len, 1));

  g_assert_cmpuint (protobuf_c_message_pack (body, buf), ==, len);
  return g_bytes_new_take (buf, len);
}

static void
assert_same_frame (const TsrFrame *a, const TsrFrame *b)
{
  g_autoptr (GBytes) body_a = pack (a->body);
  g_autoptr (GBytes) body_b = pack (b->body);

  g_assert_cmpmem (&a->header, sizeof a->header, &b->header, sizeof b->header);
  g_assert_true (g_bytes_equal (body_a, body_b));
  g_assert_true (g_bytes_equal (a->payload, b->payload));
}

/* Responses carry a status a client turns into its error: that path sees peer data too. */
static void
check_status (const TsrFrame *frame)
{
  const ProtobufCFieldDescriptor *field =
      protobuf_c_message_descriptor_get_field_by_name (frame->body->descriptor, "status");
  const Tessera__Status *status;
  g_autoptr (GError) error = NULL;

  if (field == NULL)
    return;
  status = *(const Tessera__Status *const *)((const char *)frame->body + field->offset);
  if (status == NULL)
    return;
  if (tsr_status_to_error (status, &error))
    g_assert_cmpuint (status->code, ==, 0);
  else
    {
      g_assert_true (error->domain == TSR_ERROR);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
    }
}

/* What we accept, we can send, and the peer accepts it back unchanged. */
static void
check_rewrite (const TsrFrame *frame)
{
  g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) written = NULL;
  g_autoptr (TsrFrame) again = NULL;
  gsize len, consumed;
  const guint8 *data;

  if (!tsr_frame_write (out, frame->header.type, frame->header.request_id, frame->body,
                        frame->payload, NULL, &error))
    {
      /* Re-encoding shrinks a body if anything (overlong varints and duplicate fields go),
       * so this should not happen; TOO_LARGE is still the one refusal that would be right. */
      g_assert_error (error, TSR_ERROR, TSR_ERROR_TOO_LARGE);
      return;
    }
  g_assert_true (g_output_stream_close (out, NULL, NULL));
  written = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
  data = g_bytes_get_data (written, &len);

  again = tsr_frame_decode (data, len, &consumed, &error);
  if (again == NULL)
    {
      /* The memory budget scales with the body's size, and a re-encoded body can be smaller
       * than the received one (duplicate fields dropped) while needing as much memory. */
      g_assert_error (error, TSR_ERROR, TSR_ERROR_PROTOCOL);
      return;
    }
  g_assert_cmpuint (consumed, ==, len);
  g_assert_cmpuint (again->header.type, ==, frame->header.type);
  g_assert_cmpuint (again->header.request_id, ==, frame->header.request_id);
  g_assert_true (g_bytes_equal (again->payload, frame->payload));
  {
    g_autoptr (GBytes) body = pack (frame->body);
    g_autoptr (GBytes) body_again = pack (again->body);
    g_assert_true (g_bytes_equal (body, body_again));
  }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GInputStream) in = g_memory_input_stream_new_from_data (data, size, NULL);
  gsize offset = 0;

  for (;;)
    {
      g_autoptr (GError) decode_error = NULL;
      g_autoptr (GError) read_error = NULL;
      g_autoptr (TsrFrame) decoded = NULL;
      g_autoptr (TsrFrame) read = NULL;
      gsize consumed = 0;

      decoded = tsr_frame_decode (data + offset, size - offset, &consumed, &decode_error);
      read = tsr_frame_read (in, NULL, &read_error);

      if (decoded == NULL)
        {
          g_assert_nonnull (decode_error);
          g_assert_true (decode_error->domain == TSR_ERROR);
          g_assert_cmpuint (consumed, ==, 0);
          g_assert_null (read);
          g_assert_error (read_error, TSR_ERROR, decode_error->code);
          break;
        }
      g_assert_no_error (decode_error);
      g_assert_no_error (read_error);
      g_assert_nonnull (read);
      g_assert_cmpuint (consumed, >=, TSR_FRAME_HEADER_SIZE);
      g_assert_cmpuint (consumed, <=, size - offset);
      assert_same_frame (decoded, read);
      g_assert_cmpstr (tsr_message_type_to_string (decoded->header.type), !=, "UNKNOWN");

      check_status (decoded);
      check_rewrite (decoded);
      offset += consumed;
    }
  return 0;
}
