/* tsr-netem.c
 *
 * Link emulation between this client and each node: the seed's VirtualNetwork. Each node
 * gets a TsrNetemLink with a virtual address (192.168.1.2, .3, ... in the order nodes are
 * registered; this client is 192.168.1.1), its settings and its statistics.
 *
 * The node client hands every frame to its link before writing it (requests) and after
 * reading it (responses). The link cuts the frame into packets of at most an MTU, gives each
 * a real header (sequence and acknowledgement numbers counted in bytes per direction as TCP
 * does, a packet id, an Internet checksum over the header and the segment bytes it carries),
 * encodes it and decodes and verifies it again at the emulated receiver. Timing is planned on
 * a virtual clock per direction rather than slept packet by packet: a packet starts when the
 * link is free (a token bucket of one packet, which is what a serialising link is), takes
 * size / bandwidth to transmit, then a propagation delay drawn from the latency range and the
 * processing delay. A lost packet (a random draw) has used the link all the same; the sender
 * notices after the retransmission timeout (doubled on each retry, as TCP does) and sends it
 * again, until max_retransmits is spent and the frame fails with TSR_ERROR_TIMEOUT. Packets of
 * other frames keep the link busy meanwhile, as with selective acknowledgements on a real
 * link, so 1 % loss costs 1 % of the bandwidth plus a timeout of latency for the frames hit.
 * The caller then sleeps once, on the monotonic clock, until its last packet arrives; the
 * sleep wakes for cancellation and for a change of settings (switching a link off delivers
 * what is in flight at once).
 *
 * Headers never go on the real wire: remote tesserad nodes see the same bytes as ever.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tsr-netem.h"
#include "tsr-error.h"
#include "tsr-json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_MAGIC_0    'T'
#define HEADER_MAGIC_1    'N'
#define HEADER_VERSION    1
#define N_SAMPLES         1024   /* delivery times kept for the 95th percentile */
#define RATE_SLOT_US      100000 /* throughput is summed in slots of 100 ms */
#define RATE_SLOTS        32     /* ring of slots; the last 10 make the current rate */
#define RATE_WINDOW_SLOTS 10

typedef struct
{
  gint64 slot;
  guint64 bytes;
} RateSlot;

typedef struct
{
  gint64 free_at; /* when the link can start the next packet (virtual, monotonic µs) */
  guint32 seq;    /* next byte's sequence number */
  guint64 packets, bytes, lost, retransmitted;
  RateSlot rate[RATE_SLOTS];
} Direction;

/* Time during which something was in flight: the union of packets' [start, arrival]
 * intervals, so that real pauses between frames (a node syncing its disk) do not count. Kept
 * per link and, shared by all links (an atomic-refcounted box, since a link can outlive its
 * network in a client's hands), for the whole network. */
typedef struct
{
  GMutex mutex;
  gint64 until;
  gint64 total;
} Busy;

static void
busy_add (Busy *b, gint64 start, gint64 end)
{
  if (start >= b->until)
    b->total += end - start;
  else if (end > b->until)
    b->total += end - b->until;
  b->until = MAX (b->until, end);
}

static void
busy_clear (gpointer data)
{
  g_mutex_clear (&((Busy *)data)->mutex);
}

struct _TsrNetemLink
{
  gint ref;
  char *node_id;
  char *virtual_address;
  guint32 address; /* host order */
  gint active;     /* atomic copy of settings.enabled, read without the lock */

  GMutex mutex;
  GCond cond; /* broadcast on settings changes and cancellation */
  TsrNetemSettings settings;
  Direction dir[2];
  guint32 next_packet_id;
  Busy busy;                  /* under mutex; its own mutex unused */
  Busy *network;              /* shared, with its own mutex */
  guint32 samples[N_SAMPLES]; /* delivery times in µs */
  guint n_samples, next_sample;
  guint64 delivery_sum_us, delivery_count;
};

struct _TsrNetem
{
  GObject parent_instance;

  GMutex mutex;
  GPtrArray *links; /* TsrNetemLink*, in registration order */
  guint registered; /* links ever added: the next one's address */
  Busy *busy;       /* every link's, together */
};

G_DEFINE_FINAL_TYPE (TsrNetem, tsr_netem, G_TYPE_OBJECT)

/* ---- packet headers ---- */

static void
put32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

static guint32
get32 (const guint8 *p)
{
  return ((guint32)p[0] << 24) | ((guint32)p[1] << 16) | ((guint32)p[2] << 8) | p[3];
}

/**
 * tsr_netem_header_encode:
 *
 * Big-endian: magic "TN", version, type, source, destination, seq, ack, packet id, payload
 * length, checksum.
 */
void
tsr_netem_header_encode (const TsrNetemPacketHeader *h, guint8 out[TSR_NETEM_HEADER_SIZE])
{
  out[0] = HEADER_MAGIC_0;
  out[1] = HEADER_MAGIC_1;
  out[2] = HEADER_VERSION;
  out[3] = h->type;
  put32 (out + 4, h->source);
  put32 (out + 8, h->destination);
  put32 (out + 12, h->seq);
  put32 (out + 16, h->ack);
  put32 (out + 20, h->packet_id);
  out[24] = h->payload_len >> 8;
  out[25] = h->payload_len & 0xff;
  out[26] = h->checksum >> 8;
  out[27] = h->checksum & 0xff;
}

/* RFC 1071 over the header with its checksum field as zero, then the payload. */
guint16
tsr_netem_checksum (const guint8 header[TSR_NETEM_HEADER_SIZE], const guint8 *payload, gsize len)
{
  guint64 sum = 0;

  for (guint i = 0; i < TSR_NETEM_HEADER_SIZE; i += 2)
    if (i != 26)
      sum += ((guint32)header[i] << 8) | header[i + 1];
  for (gsize i = 0; i + 1 < len; i += 2)
    sum += ((guint32)payload[i] << 8) | payload[i + 1];
  if (len % 2 == 1)
    sum += (guint32)payload[len - 1] << 8;
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}

gboolean
tsr_netem_header_decode (const guint8 *data, gsize len, TsrNetemPacketHeader *h, GError **error)
{
  const char *why = NULL;

  if (len < TSR_NETEM_HEADER_SIZE)
    why = "short header";
  else if (data[0] != HEADER_MAGIC_0 || data[1] != HEADER_MAGIC_1 || data[2] != HEADER_VERSION)
    why = "bad magic or version";
  else if (data[3] < TSR_NETEM_PACKET_SYN || data[3] > TSR_NETEM_PACKET_HEALTH_CHECK)
    why = "unknown packet type";
  if (why == NULL)
    {
      h->type = data[3];
      h->source = get32 (data + 4);
      h->destination = get32 (data + 8);
      h->seq = get32 (data + 12);
      h->ack = get32 (data + 16);
      h->packet_id = get32 (data + 20);
      h->payload_len = ((guint16)data[24] << 8) | data[25];
      h->checksum = ((guint16)data[26] << 8) | data[27];
      if (h->payload_len > TSR_NETEM_MTU_MAX - TSR_NETEM_HEADER_SIZE)
        why = "payload longer than an MTU";
    }
  if (why != NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_PROTOCOL, _ ("Bad emulated packet: %s"), why);
      return FALSE;
    }
  return TRUE;
}

/* ---- settings ---- */

void
tsr_netem_settings_init_off (TsrNetemSettings *s)
{
  memset (s, 0, sizeof *s);
  s->mtu = TSR_NETEM_MTU_DEFAULT;
  s->rto_ms = TSR_NETEM_RTO_MS_DEFAULT;
  /* 200 ms doubling over 6 tries: a dead link is given up after 12.6 s. */
  s->max_retransmits = 5;
}

/* The seed's profile: 64 KB/s per node, 1-10 ms, 1 % loss. */
void
tsr_netem_settings_init_seed (TsrNetemSettings *s)
{
  tsr_netem_settings_init_off (s);
  s->enabled = TRUE;
  s->bandwidth = TSR_NETEM_SEED_BANDWIDTH;
  s->latency_min_us = 1000;
  s->latency_max_us = 10000;
  s->loss_ppm = 10000;
  s->processing_us = 100;
}

gboolean
tsr_netem_settings_validate (const TsrNetemSettings *s, GError **error)
{
  const char *why = NULL;

  if (s->bandwidth > TSR_NETEM_BANDWIDTH_MAX)
    why = "the bandwidth must be at most 100 GB/s (0 for unlimited)";
  else if (s->latency_max_us > TSR_NETEM_LATENCY_MAX_US || s->latency_min_us > s->latency_max_us)
    why = "the latency must be MIN-MAX with MIN <= MAX <= 10 s";
  else if (s->loss_ppm > TSR_NETEM_LOSS_PPM_MAX)
    why = "the loss must be between 0 and 100 %";
  else if (s->processing_us > TSR_NETEM_LATENCY_MAX_US)
    why = "the processing delay must be at most 10 s";
  else if (s->mtu < TSR_NETEM_MTU_MIN || s->mtu > TSR_NETEM_MTU_MAX)
    why = "the MTU must be between 576 and 65535 bytes";
  else if (s->rto_ms == 0 || s->rto_ms > TSR_NETEM_RTO_MS_MAX)
    why = "the retransmission timeout must be between 1 ms and 60 s";
  else if (s->max_retransmits > TSR_NETEM_RETRANSMITS_MAX)
    why = "at most 16 retransmissions";
  if (why != NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT, _ ("Bad link settings: %s"), why);
      return FALSE;
    }
  return TRUE;
}

gboolean
tsr_netem_settings_equal (const TsrNetemSettings *a, const TsrNetemSettings *b)
{
  if (!a->enabled && !b->enabled)
    return TRUE; /* off is off, whatever is remembered beside it */
  return a->enabled == b->enabled && a->bandwidth == b->bandwidth &&
         a->latency_min_us == b->latency_min_us && a->latency_max_us == b->latency_max_us &&
         a->loss_ppm == b->loss_ppm && a->processing_us == b->processing_us && a->mtu == b->mtu &&
         a->rto_ms == b->rto_ms && a->max_retransmits == b->max_retransmits;
}

/* "off", "seed" or "custom". */
const char *
tsr_netem_settings_get_profile (const TsrNetemSettings *s)
{
  TsrNetemSettings seed;

  if (!s->enabled)
    return "off";
  tsr_netem_settings_init_seed (&seed);
  return tsr_netem_settings_equal (s, &seed) ? "seed" : "custom";
}

/* How long a packet that is always lost keeps its frame waiting before the link gives up:
 * the retransmission timeouts, doubling, after each of the 1 + max_retransmits sends. */
gint64
tsr_netem_settings_give_up_us (const TsrNetemSettings *s)
{
  gint64 us = 0;

  for (guint i = 0; i <= s->max_retransmits; i++)
    us += ((gint64)s->rto_ms * 1000) << i;
  return us;
}

void
tsr_netem_settings_to_json (const TsrNetemSettings *settings, JsonBuilder *b)
{
  TsrNetemSettings off;
  const TsrNetemSettings *s = settings;

  /* Settings left zeroed by code that made a node config by hand are off: saved as such, so
   * the strict parser reads them back. */
  if (!s->enabled && !tsr_netem_settings_validate (s, NULL))
    {
      tsr_netem_settings_init_off (&off);
      s = &off;
    }
  json_builder_begin_object (b);
  tsr_json_set_bool (b, "enabled", s->enabled);
  tsr_json_set_int (b, "bandwidth_bps", (gint64)s->bandwidth);
  tsr_json_set_int (b, "latency_min_us", s->latency_min_us);
  tsr_json_set_int (b, "latency_max_us", s->latency_max_us);
  tsr_json_set_int (b, "loss_ppm", s->loss_ppm);
  tsr_json_set_int (b, "processing_us", s->processing_us);
  tsr_json_set_int (b, "mtu", s->mtu);
  tsr_json_set_int (b, "rto_ms", s->rto_ms);
  tsr_json_set_int (b, "max_retransmits", s->max_retransmits);
  json_builder_end_object (b);
}

/* Strict: every member present, of its type and within its range. */
gboolean
tsr_netem_settings_from_json (JsonObject *o, TsrNetemSettings *out)
{
  TsrNetemSettings s = { 0 };
  guint64 v[8];

  if (!tsr_json_get_bool (o, "enabled", &s.enabled) ||
      !tsr_json_get_uint (o, "bandwidth_bps", TSR_NETEM_BANDWIDTH_MAX, &v[0]) ||
      !tsr_json_get_uint (o, "latency_min_us", TSR_NETEM_LATENCY_MAX_US, &v[1]) ||
      !tsr_json_get_uint (o, "latency_max_us", TSR_NETEM_LATENCY_MAX_US, &v[2]) ||
      !tsr_json_get_uint (o, "loss_ppm", TSR_NETEM_LOSS_PPM_MAX, &v[3]) ||
      !tsr_json_get_uint (o, "processing_us", TSR_NETEM_LATENCY_MAX_US, &v[4]) ||
      !tsr_json_get_uint (o, "mtu", TSR_NETEM_MTU_MAX, &v[5]) ||
      !tsr_json_get_uint (o, "rto_ms", TSR_NETEM_RTO_MS_MAX, &v[6]) ||
      !tsr_json_get_uint (o, "max_retransmits", TSR_NETEM_RETRANSMITS_MAX, &v[7]))
    return FALSE;
  s.bandwidth = v[0];
  s.latency_min_us = v[1];
  s.latency_max_us = v[2];
  s.loss_ppm = v[3];
  s.processing_us = v[4];
  s.mtu = v[5];
  s.rto_ms = v[6];
  s.max_retransmits = v[7];
  if (!tsr_netem_settings_validate (&s, NULL))
    return FALSE;
  *out = s;
  return TRUE;
}

/* "64.0 KiB/s, 1-10 ms, 1 % loss" or "off". */
char *
tsr_netem_settings_describe (const TsrNetemSettings *s)
{
  g_autofree char *rate = NULL;

  if (!s->enabled)
    return g_strdup ("off");
  rate = s->bandwidth == 0 ? g_strdup ("unlimited")
                           : g_format_size_full (s->bandwidth, G_FORMAT_SIZE_IEC_UNITS);
  return g_strdup_printf ("%s%s, %g-%g ms, %g %% loss", rate, s->bandwidth == 0 ? "" : "/s",
                          s->latency_min_us / 1000.0, s->latency_max_us / 1000.0,
                          s->loss_ppm / 10000.0);
}

/* ---- parsers of what people type ---- */

/* A decimal number with at most 6 fractional digits, as millionths; "" and overflow fail. */
static gboolean
parse_micro (const char *text, const char **end, guint64 *micro)
{
  guint64 whole = 0, frac = 0;
  guint digits = 0;
  const char *p = text;

  if (!g_ascii_isdigit (*p))
    return FALSE;
  for (; g_ascii_isdigit (*p); p++)
    if (!g_uint64_checked_mul (&whole, whole, 10) ||
        !g_uint64_checked_add (&whole, whole, *p - '0'))
      return FALSE;
  if (*p == '.')
    {
      p++;
      if (!g_ascii_isdigit (*p))
        return FALSE;
      for (; g_ascii_isdigit (*p); p++)
        if (digits++ < 6)
          frac = frac * 10 + (*p - '0');
        else
          return FALSE;
    }
  for (; digits < 6; digits++)
    frac *= 10;
  *end = p;
  return g_uint64_checked_mul (micro, whole, 1000000) && g_uint64_checked_add (micro, *micro, frac);
}

/**
 * tsr_netem_parse_rate:
 * @text: "64KB/s", "512KiB/s", "4MiB/s", "1.5MB/s", "100000B/s", or "unlimited"
 *
 * KB, MB and GB are powers of 1000; KiB, MiB and GiB powers of 1024 (as tsr_parse_size).
 * The "/s" is required, so a size is not taken for a rate by mistake.
 */
gboolean
tsr_netem_parse_rate (const char *text, guint64 *out, GError **error)
{
  static const struct
  {
    const char *unit;
    guint64 mult;
  } units[] = {
    { "B/s", 1 },
    { "kB/s", 1000 },
    { "KB/s", 1000 },
    { "KiB/s", 1024 },
    { "MB/s", 1000 * 1000 },
    { "MiB/s", 1024 * 1024 },
    { "GB/s", 1000 * 1000 * 1000 },
    { "GiB/s", 1024 * 1024 * 1024 },
  };
  const char *end = NULL;
  guint64 micro, bytes;

  if (g_strcmp0 (text, "unlimited") == 0)
    {
      *out = 0;
      return TRUE;
    }
  if (text != NULL && parse_micro (text, &end, &micro))
    for (guint i = 0; i < G_N_ELEMENTS (units); i++)
      if (strcmp (end, units[i].unit) == 0)
        {
          if (!g_uint64_checked_mul (&bytes, micro / 1000, units[i].mult))
            break;
          bytes /= 1000;
          if (bytes == 0 || bytes > TSR_NETEM_BANDWIDTH_MAX)
            break;
          *out = bytes;
          return TRUE;
        }
  g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
               _ ("“%s” is not a bandwidth: write it like 64KB/s, 512KiB/s or 4MiB/s (at least "
                  "1 B/s, at most 100 GB/s), or unlimited"),
               text ? text : "");
  return FALSE;
}

/**
 * tsr_netem_parse_latency:
 * @text: "1-10ms", "5ms", "0.5-2ms", "1-2s"
 */
gboolean
tsr_netem_parse_latency (const char *text, guint *min_us, guint *max_us, GError **error)
{
  const char *p = text, *end = NULL;
  guint64 lo, hi, mult = 0;

  if (text == NULL || !parse_micro (p, &end, &lo))
    goto fail;
  hi = lo;
  if (*end == '-' && !parse_micro (end + 1, &end, &hi))
    goto fail;
  if (strcmp (end, "ms") == 0)
    mult = 1000;
  else if (strcmp (end, "us") == 0 || strcmp (end, "µs") == 0)
    mult = 1;
  else if (strcmp (end, "s") == 0)
    mult = 1000000;
  else
    goto fail;
  /* Millionths of the unit times microseconds per unit, back to whole microseconds. */
  if (!g_uint64_checked_mul (&lo, lo, mult) || !g_uint64_checked_mul (&hi, hi, mult))
    goto fail;
  lo /= 1000000;
  hi /= 1000000;
  if (lo > hi || hi > TSR_NETEM_LATENCY_MAX_US)
    goto fail;
  *min_us = lo;
  *max_us = hi;
  return TRUE;

fail:
  g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
               _ ("“%s” is not a latency: write it like 1-10ms or 5ms (MIN-MAX, at most 10 s)"),
               text ? text : "");
  return FALSE;
}

/**
 * tsr_netem_parse_loss:
 * @text: "1", "1%", "0.5%" (percent)
 */
gboolean
tsr_netem_parse_loss (const char *text, guint *loss_ppm, GError **error)
{
  const char *end = NULL;
  guint64 micro;

  if (text != NULL && parse_micro (text, &end, &micro) &&
      (*end == '\0' || strcmp (end, "%") == 0) && micro <= G_GUINT64_CONSTANT (100000000))
    {
      *loss_ppm = micro / 100; /* millionths of a percent to parts per million */
      return TRUE;
    }
  g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
               _ ("“%s” is not a loss: write a percentage from 0 to 100, like 1%% or 0.5%%"),
               text ? text : "");
  return FALSE;
}

/* ---- links ---- */

TsrNetemLink *
tsr_netem_link_ref (TsrNetemLink *link)
{
  g_atomic_int_inc (&link->ref);
  return link;
}

void
tsr_netem_link_unref (TsrNetemLink *link)
{
  if (link == NULL || !g_atomic_int_dec_and_test (&link->ref))
    return;
  g_mutex_clear (&link->mutex);
  g_cond_clear (&link->cond);
  g_atomic_rc_box_release_full (link->network, busy_clear);
  g_free (link->node_id);
  g_free (link->virtual_address);
  g_free (link);
}

const char *
tsr_netem_link_get_node_id (TsrNetemLink *link)
{
  return link->node_id;
}

/* The seed's 192.168.1.x, given when the node was registered. */
const char *
tsr_netem_link_get_virtual_address (TsrNetemLink *link)
{
  return link->virtual_address;
}

/* Whether frames must go through tsr_netem_link_transmit(): one atomic read, so that the
 * `off` profile costs nothing. */
gboolean
tsr_netem_link_is_active (TsrNetemLink *link)
{
  return g_atomic_int_get (&link->active);
}

static guint64
n_packets (gsize frame_len, guint mtu)
{
  gsize per = mtu - TSR_NETEM_HEADER_SIZE;
  return MAX ((frame_len + per - 1) / per, 1);
}

static void
rate_add (Direction *d, gint64 when, guint64 bytes)
{
  gint64 slot = when / RATE_SLOT_US;
  RateSlot *r = &d->rate[slot % RATE_SLOTS];

  if (r->slot != slot)
    {
      r->slot = slot;
      r->bytes = 0;
    }
  r->bytes += bytes;
}

static double
rate_get (const Direction *d, gint64 now)
{
  gint64 slot = now / RATE_SLOT_US;
  guint64 bytes = 0;

  for (guint i = 0; i < RATE_SLOTS; i++)
    if (d->rate[i].slot > slot - RATE_WINDOW_SLOTS && d->rate[i].slot <= slot)
      bytes += d->rate[i].bytes;
  return bytes * (double)G_USEC_PER_SEC / (RATE_WINDOW_SLOTS * RATE_SLOT_US);
}

/**
 * tsr_netem_link_count:
 *
 * The statistics of a frame that went by while the link is off: packets as an MTU would cut
 * it, with no timing and no per-byte work.
 */
void
tsr_netem_link_count (TsrNetemLink *link, TsrNetemDirection direction, gsize frame_len)
{
  Direction *d = &link->dir[direction];
  guint64 packets = n_packets (frame_len, TSR_NETEM_MTU_DEFAULT);

  g_mutex_lock (&link->mutex);
  d->packets += packets;
  d->bytes += frame_len;
  rate_add (d, g_get_monotonic_time (), frame_len);
  g_mutex_unlock (&link->mutex);
}

static void
add_sample (TsrNetemLink *link, gint64 us)
{
  link->samples[link->next_sample] = (guint32)CLAMP (us, 0, G_MAXUINT32);
  link->next_sample = (link->next_sample + 1) % N_SAMPLES;
  link->n_samples = MIN (link->n_samples + 1, N_SAMPLES);
  link->delivery_sum_us += us;
  link->delivery_count++;
}

static gint64
draw_latency (const TsrNetemSettings *s)
{
  if (s->latency_max_us == s->latency_min_us)
    return s->latency_min_us;
  return g_random_int_range ((gint32)s->latency_min_us, (gint32)s->latency_max_us + 1);
}

static void
wake (GCancellable *cancellable, gpointer data)
{
  TsrNetemLink *link = data;

  g_mutex_lock (&link->mutex);
  g_cond_broadcast (&link->cond);
  g_mutex_unlock (&link->mutex);
}

/* Sleeps until @deadline on the monotonic clock. Returns early when the link is switched off
 * (what was in flight is delivered at once) and fails when cancelled. */
static gboolean
sleep_until (TsrNetemLink *link, gint64 deadline, GCancellable *cancellable, GError **error)
{
  gulong handler = 0;
  gboolean cancelled = FALSE;

  if (cancellable != NULL)
    handler = g_cancellable_connect (cancellable, G_CALLBACK (wake), link, NULL);
  g_mutex_lock (&link->mutex);
  for (;;)
    {
      if (g_cancellable_is_cancelled (cancellable))
        {
          cancelled = TRUE;
          break;
        }
      if (!link->settings.enabled || g_get_monotonic_time () >= deadline)
        break;
      g_cond_wait_until (&link->cond, &link->mutex, deadline);
    }
  g_mutex_unlock (&link->mutex);
  if (handler != 0)
    g_cancellable_disconnect (cancellable, handler);
  if (cancelled)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_CANCELLED, _ ("Cancelled"));
      return FALSE;
    }
  return TRUE;
}

/* Builds, encodes and checks one packet's header as its receiver would: a mistake in the
 * emulation's own bookkeeping shows as a protocol error instead of passing unnoticed. */
static gboolean
packet_roundtrip (TsrNetemLink *link, TsrNetemDirection direction, TsrNetemPacketType type,
                  const guint8 *payload, gsize payload_len, gsize chunk, GError **error)
{
  Direction *d = &link->dir[direction];
  Direction *other = &link->dir[1 - direction];
  TsrNetemPacketHeader h = { 0 }, got;
  guint8 wire[TSR_NETEM_HEADER_SIZE];
  guint32 client = (192u << 24) | (168u << 16) | (1u << 8) | 1u;

  h.type = type;
  h.source = direction == TSR_NETEM_SEND ? client : link->address;
  h.destination = direction == TSR_NETEM_SEND ? link->address : client;
  h.seq = d->seq;
  h.ack = other->seq;
  h.packet_id = link->next_packet_id++;
  h.payload_len = chunk;
  tsr_netem_header_encode (&h, wire);
  h.checksum = tsr_netem_checksum (wire, payload, payload_len);
  wire[26] = h.checksum >> 8;
  wire[27] = h.checksum & 0xff;

  if (!tsr_netem_header_decode (wire, sizeof wire, &got, error))
    return FALSE;
  if (got.seq != d->seq || got.destination != h.destination || got.payload_len != chunk ||
      tsr_netem_checksum (wire, payload, payload_len) != got.checksum)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_PROTOCOL,
                   _ ("Emulated packet %u to %s arrived out of order or damaged"), got.packet_id,
                   link->node_id);
      return FALSE;
    }
  return TRUE;
}

/**
 * tsr_netem_link_transmit:
 * @direction: which way the frame goes
 * @type: DATA for protocol frames, HEALTH_CHECK for health checks (which skip the queue of
 *   data, as a control channel would, so a busy link still answers them)
 * @payload: (nullable): the segment bytes the frame carries at its end, for the checksums
 * @frame_len: the frame's length on the wire
 * @deadline: 0, or a monotonic time after which the caller stops waiting (health checks)
 *
 * Carries one frame over the emulated link and returns when its last packet has arrived.
 * Fails with %TSR_ERROR_TIMEOUT when a packet is still lost after max_retransmits, and with
 * %TSR_ERROR_CANCELLED when @cancellable fires.
 */
gboolean
tsr_netem_link_transmit (TsrNetemLink *link, TsrNetemDirection direction, TsrNetemPacketType type,
                         GBytes *payload, gsize frame_len, gint64 deadline,
                         GCancellable *cancellable, GError **error)
{
  Direction *d = &link->dir[direction];
  const guint8 *data = NULL;
  gsize data_len = 0, data_start, per, offset = 0;
  gint64 now = g_get_monotonic_time (), done = now, failed_at = 0;
  guint64 packets, failed_packet = 0;
  TsrNetemSettings s;

  if (payload != NULL)
    data = g_bytes_get_data (payload, &data_len);
  if (data_len > frame_len)
    data_len = frame_len;
  data_start = frame_len - data_len;

  g_mutex_lock (&link->mutex);
  s = link->settings;
  if (!s.enabled)
    {
      g_mutex_unlock (&link->mutex);
      tsr_netem_link_count (link, direction, frame_len);
      return TRUE;
    }
  per = s.mtu - TSR_NETEM_HEADER_SIZE;
  packets = n_packets (frame_len, s.mtu);
  for (guint64 i = 0; i < packets; i++)
    {
      gsize chunk = MIN (per, frame_len - offset);
      const guint8 *slice = NULL;
      gsize slice_len = 0;
      gint64 ready = now, first_start = -1, arrival = 0;

      /* The part of this packet that is segment bytes, if any. */
      if (data != NULL && offset + chunk > data_start)
        {
          gsize from = MAX (offset, data_start);
          slice = data + (from - data_start);
          slice_len = offset + chunk - from;
        }
      if (!packet_roundtrip (link, direction, type, slice, slice_len, chunk, error))
        {
          g_mutex_unlock (&link->mutex);
          return FALSE;
        }
      for (guint attempt = 0;; attempt++)
        {
          gint64 start = type == TSR_NETEM_PACKET_HEALTH_CHECK ? ready : MAX (ready, d->free_at);
          gint64 tx = s.bandwidth == 0 ? 0 : (gint64)(chunk * G_USEC_PER_SEC / s.bandwidth);

          if (type != TSR_NETEM_PACKET_HEALTH_CHECK)
            d->free_at = start + tx;
          if (first_start < 0)
            first_start = start;
          if (direction == TSR_NETEM_SEND)
            {
              d->packets++;
              d->bytes += chunk;
            }
          if (s.loss_ppm == 0 ||
              (guint)g_random_int_range (0, TSR_NETEM_LOSS_PPM_MAX) >= s.loss_ppm)
            {
              arrival = start + tx + draw_latency (&s) + s.processing_us;
              break;
            }
          d->lost++;
          /* The sender learns of the loss when its timer runs out, then sends again. */
          ready = start + tx + (((gint64)s.rto_ms * 1000) << attempt);
          if (attempt >= s.max_retransmits)
            {
              failed_at = ready;
              failed_packet = i + 1;
              break;
            }
          d->retransmitted++;
        }
      if (failed_at != 0)
        break;
      if (direction == TSR_NETEM_RECEIVE)
        {
          d->packets++;
          d->bytes += chunk;
        }
      rate_add (d, arrival, chunk);
      add_sample (link, arrival - first_start);
      busy_add (&link->busy, first_start, arrival);
      g_mutex_lock (&link->network->mutex);
      busy_add (link->network, first_start, arrival);
      g_mutex_unlock (&link->network->mutex);
      done = MAX (done, arrival);
      d->seq += chunk;
      offset += chunk;
    }
  g_mutex_unlock (&link->mutex);

  if (deadline > 0 && (failed_at != 0 ? failed_at : done) > deadline)
    {
      if (!sleep_until (link, deadline, cancellable, error))
        return FALSE;
      if (!tsr_netem_link_is_active (link))
        return TRUE; /* switched off meanwhile: what was in flight arrives */
      g_set_error (error, TSR_ERROR, TSR_ERROR_TIMEOUT,
                   _ ("%s did not answer within its deadline over the emulated link (%g %% loss)"),
                   link->node_id, s.loss_ppm / 10000.0);
      return FALSE;
    }
  if (failed_at != 0)
    {
      if (!sleep_until (link, failed_at, cancellable, error))
        return FALSE;
      if (!tsr_netem_link_is_active (link))
        return TRUE;
      g_set_error (error, TSR_ERROR, TSR_ERROR_TIMEOUT,
                   _ ("The emulated link to %s lost packet %llu of %llu on each of its %u tries "
                      "(%g %% loss) and gave up after %lld ms; lower the loss with `tessera-cli "
                      "netem set` or turn it off"),
                   link->node_id, (unsigned long long)failed_packet, (unsigned long long)packets,
                   s.max_retransmits + 1, s.loss_ppm / 10000.0,
                   (long long)(tsr_netem_settings_give_up_us (&s) / 1000));
      return FALSE;
    }
  return sleep_until (link, done, cancellable, error);
}

void
tsr_netem_link_get_settings (TsrNetemLink *link, TsrNetemSettings *settings)
{
  g_mutex_lock (&link->mutex);
  *settings = link->settings;
  g_mutex_unlock (&link->mutex);
}

static int
cmp_u32 (const void *a, const void *b)
{
  guint32 x = *(const guint32 *)a, y = *(const guint32 *)b;
  return (x > y) - (x < y);
}

void
tsr_netem_link_get_stats (TsrNetemLink *link, TsrNetemStats *st)
{
  guint32 sorted[N_SAMPLES];
  gint64 now = g_get_monotonic_time ();
  guint n;

  memset (st, 0, sizeof *st);
  g_mutex_lock (&link->mutex);
  st->packets_sent = link->dir[TSR_NETEM_SEND].packets;
  st->bytes_sent = link->dir[TSR_NETEM_SEND].bytes;
  st->packets_received = link->dir[TSR_NETEM_RECEIVE].packets;
  st->bytes_received = link->dir[TSR_NETEM_RECEIVE].bytes;
  st->packets_lost = link->dir[0].lost + link->dir[1].lost;
  st->packets_retransmitted = link->dir[0].retransmitted + link->dir[1].retransmitted;
  st->send_throughput_bps = rate_get (&link->dir[TSR_NETEM_SEND], now);
  st->receive_throughput_bps = rate_get (&link->dir[TSR_NETEM_RECEIVE], now);
  if (link->delivery_count > 0)
    st->delivery_ms_mean = link->delivery_sum_us / 1000.0 / link->delivery_count;
  n = link->n_samples;
  memcpy (sorted, link->samples, n * sizeof sorted[0]);
  st->emulated_us = link->busy.total;
  if (link->settings.enabled)
    st->backlog_us = MAX (0, MAX (link->dir[0].free_at, link->dir[1].free_at) - now);
  g_mutex_unlock (&link->mutex);
  if (n > 0)
    {
      qsort (sorted, n, sizeof sorted[0], cmp_u32);
      st->delivery_ms_p95 = sorted[MIN ((n * 95 + 99) / 100, n) - 1] / 1000.0;
    }
}

static void
link_set_settings (TsrNetemLink *link, const TsrNetemSettings *settings)
{
  g_mutex_lock (&link->mutex);
  link->settings = *settings;
  /* What was queued is planned again under the new settings; frames asleep keep their
   * times unless the link is now off, which wakes them at once. */
  link->dir[0].free_at = link->dir[1].free_at = 0;
  g_atomic_int_set (&link->active, settings->enabled);
  g_cond_broadcast (&link->cond);
  g_mutex_unlock (&link->mutex);
}

static void
link_reset_stats (TsrNetemLink *link)
{
  g_mutex_lock (&link->mutex);
  for (guint i = 0; i < 2; i++)
    {
      Direction *d = &link->dir[i];
      d->packets = d->bytes = d->lost = d->retransmitted = 0;
      memset (d->rate, 0, sizeof d->rate);
    }
  link->busy.until = link->busy.total = 0;
  link->n_samples = link->next_sample = 0;
  link->delivery_sum_us = link->delivery_count = 0;
  g_mutex_unlock (&link->mutex);
}

/* ---- the network ---- */

TsrNetem *
tsr_netem_new (void)
{
  return g_object_new (TSR_TYPE_NETEM, NULL);
}

static TsrNetemLink *
find_link_locked (TsrNetem *self, const char *node_id)
{
  for (guint i = 0; i < self->links->len; i++)
    {
      TsrNetemLink *link = self->links->pdata[i];
      if (strcmp (link->node_id, node_id) == 0)
        return link;
    }
  return NULL;
}

/**
 * tsr_netem_add_link:
 * @settings: (nullable): its shaping; %NULL for off
 *
 * The seed's register_node: gives the node the next virtual address. A node registered
 * before keeps its link, address and statistics (its settings are replaced).
 *
 * Returns: (transfer full): the node's link
 */
TsrNetemLink *
tsr_netem_add_link (TsrNetem *self, const char *node_id, const TsrNetemSettings *settings)
{
  TsrNetemSettings off;
  TsrNetemLink *link;

  g_return_val_if_fail (TSR_IS_NETEM (self), NULL);
  g_return_val_if_fail (node_id != NULL, NULL);

  if (settings == NULL)
    {
      tsr_netem_settings_init_off (&off);
      settings = &off;
    }
  g_mutex_lock (&self->mutex);
  link = find_link_locked (self, node_id);
  if (link == NULL)
    {
      guint n = self->registered++;

      link = g_new0 (TsrNetemLink, 1);
      link->ref = 1;
      link->node_id = g_strdup (node_id);
      /* .2 upwards, never reused; past .255 the next /24 (after many nodes came and went). */
      link->address = (192u << 24) | (168u << 16) | ((1u + n / 254) << 8) | (2u + n % 254);
      link->virtual_address =
          g_strdup_printf ("%u.%u.%u.%u", link->address >> 24, (link->address >> 16) & 0xff,
                           (link->address >> 8) & 0xff, link->address & 0xff);
      g_mutex_init (&link->mutex);
      g_cond_init (&link->cond);
      link->network = g_atomic_rc_box_acquire (self->busy);
      g_ptr_array_add (self->links, link);
    }
  tsr_netem_link_ref (link);
  g_mutex_unlock (&self->mutex);
  link_set_settings (link, settings);
  return link;
}

/* The node left the network (it was removed from the cluster); its address is not reused. */
void
tsr_netem_remove_link (TsrNetem *self, const char *node_id)
{
  TsrNetemLink *link;

  g_return_if_fail (TSR_IS_NETEM (self));
  g_mutex_lock (&self->mutex);
  link = find_link_locked (self, node_id);
  if (link != NULL)
    g_ptr_array_remove (self->links, link);
  g_mutex_unlock (&self->mutex);
}

/* Returns: (transfer full) (nullable): the node's link */
TsrNetemLink *
tsr_netem_get_link (TsrNetem *self, const char *node_id)
{
  TsrNetemLink *link;

  g_return_val_if_fail (TSR_IS_NETEM (self), NULL);
  g_mutex_lock (&self->mutex);
  link = find_link_locked (self, node_id);
  if (link != NULL)
    tsr_netem_link_ref (link);
  g_mutex_unlock (&self->mutex);
  return link;
}

/* Returns: (transfer full) (element-type TsrNetemLink): every link, in registration order */
GPtrArray *
tsr_netem_dup_links (TsrNetem *self)
{
  GPtrArray *links = g_ptr_array_new_with_free_func ((GDestroyNotify)tsr_netem_link_unref);

  g_return_val_if_fail (TSR_IS_NETEM (self), links);
  g_mutex_lock (&self->mutex);
  for (guint i = 0; i < self->links->len; i++)
    g_ptr_array_add (links, tsr_netem_link_ref (self->links->pdata[i]));
  g_mutex_unlock (&self->mutex);
  return links;
}

/**
 * tsr_netem_set_settings:
 * @node_id: (nullable): one node's link, or %NULL for every link
 *
 * Applies at once, to links already carrying frames too.
 */
gboolean
tsr_netem_set_settings (TsrNetem *self, const char *node_id, const TsrNetemSettings *settings,
                        GError **error)
{
  g_autoptr (GPtrArray) links = NULL;

  g_return_val_if_fail (TSR_IS_NETEM (self), FALSE);

  if (!tsr_netem_settings_validate (settings, error))
    return FALSE;
  links = tsr_netem_dup_links (self);
  for (guint i = 0; i < links->len; i++)
    {
      TsrNetemLink *link = links->pdata[i];
      if (node_id == NULL || strcmp (node_id, link->node_id) == 0)
        {
          link_set_settings (link, settings);
          if (node_id != NULL)
            return TRUE;
        }
    }
  if (node_id != NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND, _ ("There is no node %s"), node_id);
      return FALSE;
    }
  return TRUE;
}

/* The seed's get_statistics: every link summed; delivery times are the links' means weighted
 * by their packets, the 95th percentile the largest link's; the emulated time is how long
 * anything at all was in flight. */
void
tsr_netem_get_total_stats (TsrNetem *self, TsrNetemStats *total)
{
  g_autoptr (GPtrArray) links = tsr_netem_dup_links (self);
  double weighted = 0;
  guint64 delivered = 0;

  memset (total, 0, sizeof *total);
  for (guint i = 0; i < links->len; i++)
    {
      TsrNetemLink *link = links->pdata[i];
      TsrNetemStats st;
      guint64 count;

      tsr_netem_link_get_stats (link, &st);
      total->packets_sent += st.packets_sent;
      total->packets_received += st.packets_received;
      total->bytes_sent += st.bytes_sent;
      total->bytes_received += st.bytes_received;
      total->packets_lost += st.packets_lost;
      total->packets_retransmitted += st.packets_retransmitted;
      total->send_throughput_bps += st.send_throughput_bps;
      total->receive_throughput_bps += st.receive_throughput_bps;
      total->delivery_ms_p95 = MAX (total->delivery_ms_p95, st.delivery_ms_p95);
      total->backlog_us = MAX (total->backlog_us, st.backlog_us);
      g_mutex_lock (&link->mutex);
      count = link->delivery_count;
      g_mutex_unlock (&link->mutex);
      weighted += st.delivery_ms_mean * count;
      delivered += count;
    }
  if (delivered > 0)
    total->delivery_ms_mean = weighted / delivered;
  g_mutex_lock (&self->busy->mutex);
  total->emulated_us = self->busy->total;
  g_mutex_unlock (&self->busy->mutex);
}

/* Zeroes every link's statistics (not their sequence numbers, which keep counting). */
void
tsr_netem_reset_stats (TsrNetem *self)
{
  g_autoptr (GPtrArray) links = NULL;

  g_return_if_fail (TSR_IS_NETEM (self));
  links = tsr_netem_dup_links (self);
  for (guint i = 0; i < links->len; i++)
    link_reset_stats (links->pdata[i]);
  g_mutex_lock (&self->busy->mutex);
  self->busy->until = self->busy->total = 0;
  g_mutex_unlock (&self->busy->mutex);
}

static void
tsr_netem_finalize (GObject *object)
{
  TsrNetem *self = TSR_NETEM (object);

  g_ptr_array_unref (self->links);
  g_atomic_rc_box_release_full (self->busy, busy_clear);
  g_mutex_clear (&self->mutex);
  G_OBJECT_CLASS (tsr_netem_parent_class)->finalize (object);
}

static void
tsr_netem_class_init (TsrNetemClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tsr_netem_finalize;
}

static void
tsr_netem_init (TsrNetem *self)
{
  g_mutex_init (&self->mutex);
  self->links = g_ptr_array_new_with_free_func ((GDestroyNotify)tsr_netem_link_unref);
  self->busy = g_atomic_rc_box_new0 (Busy);
  g_mutex_init (&self->busy->mutex);
}
