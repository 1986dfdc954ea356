/* mux.c — the `mux` sink: a copy of the input with the labels in it.  At the end of
 * the input its file is read again through libavformat and written to the sink's
 * path with
 *   - every stream the output format can hold, copied packet by packet (no decoding,
 *     no re-encoding; timestamps rescaled to the output's time bases only);
 *   - one subtitle stream "labels": one cue per segment of segmenter.h, the label's
 *     name as its text (WebVTT in Matroska and WebM; mov_text in MP4);
 *   - one chapter per segment, titled with the label's name.
 * The format is the `format` key, or with `auto` the path's extension (.mkv, .webm,
 * .mp4, .m4v, .mov).  The whole input is copied, also when a manifest gave a window. */
#include <seqpipe/plugin.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <math.h>
#include <string.h>

#include "fields.h"
#include "segmenter.h"
#include "sinks.h"

enum { FORMAT_AUTO, FORMAT_MATROSKA, FORMAT_WEBM, FORMAT_MP4 };

typedef struct {
  int format;           /* key */
  SpSegmenter seg;
  GArray *segments;     /* SpSegment */
} MuxPriv;

static const SpKey mux_keys[] = {
  { "format", SP_KEY_CHOICE, G_STRUCT_OFFSET (MuxPriv, format), "auto", 0, 0,
    "auto|matroska|webm|mp4", "container; auto: from the path's extension" },
  SP_KEY_END
};

static const char *const muxer_names[] = { NULL, "matroska", "webm", "mp4" };

/* the format of path: its extension, before the host's temporary ".tmp-XXXXXX" */
static int
format_of_path (const char *path)
{
  g_autofree char *name = g_path_get_basename (path);
  char *tmp = g_strrstr (name, ".tmp-");
  if (tmp != NULL)
    *tmp = '\0';
  const char *dot = strrchr (name, '.');
  if (dot == NULL)
    return FORMAT_AUTO;
  if (g_ascii_strcasecmp (dot, ".mkv") == 0 || g_ascii_strcasecmp (dot, ".mka") == 0)
    return FORMAT_MATROSKA;
  if (g_ascii_strcasecmp (dot, ".webm") == 0)
    return FORMAT_WEBM;
  if (g_ascii_strcasecmp (dot, ".mp4") == 0 || g_ascii_strcasecmp (dot, ".m4v") == 0
      || g_ascii_strcasecmp (dot, ".mov") == 0)
    return FORMAT_MP4;
  return FORMAT_AUTO;
}

static gboolean
mux_init (SpStage *st, GError **error)
{
  MuxPriv *p = st->priv;
  p->segments = g_array_new (FALSE, FALSE, sizeof (SpSegment));
  if (st->output_path == NULL || *st->output_path == '\0') {
    g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_CONFIG, "sink has no output path");
    return FALSE;
  }
  if (p->format == FORMAT_AUTO)
    p->format = format_of_path (st->output_path);
  if (p->format == FORMAT_AUTO) {
    g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_CONFIG,
                 "%s: no container for this extension; expected .mkv, .webm, .mp4, .m4v or "
                 ".mov, or a format key", st->output_path);
    return FALSE;
  }
  if (st->input == NULL || st->input->path == NULL) {
    g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_CONFIG,
                 "the mux sink copies its input's file, and this input has none");
    return FALSE;
  }
  return TRUE;
}

static gboolean
mux_write (SpStage *st, const SpRecord *r, GError **error)
{
  MuxPriv *p = st->priv;
  SpSegment done;
  (void) error;
  if (sp_segmenter_push (&p->seg, r, &done))
    g_array_append_val (p->segments, done);
  return TRUE;
}

static gboolean
av_fail (GError **error, int code, const char *path, const char *what)
{
  char msg[AV_ERROR_MAX_STRING_SIZE] = { 0 };
  av_strerror (code, msg, sizeof msg);
  g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_IO, "%s: %s: %s", path, what, msg);
  return FALSE;
}

static gint64
ms_of (double seconds)
{
  return isfinite (seconds) && seconds > 0 ? (gint64) llround (seconds * 1000.0) : 0;
}

/* the cue text of a segment as its packet: WebVTT cue payload, or mov_text's 16-bit
 * big-endian length then the text */
static int
cue_packet (AVPacket *pkt, const char *label, gboolean mov_text)
{
  g_autoptr (GString) t = g_string_new (NULL);
  for (const char *c = label; *c; c++) {
    if (!mov_text && *c == '&') g_string_append (t, "&amp;");
    else if (!mov_text && *c == '<') g_string_append (t, "&lt;");
    else if (!mov_text && *c == '>') g_string_append (t, "&gt;");
    else g_string_append_c (t, *c == '\n' || *c == '\r' ? ' ' : *c);
  }
  gsize len = MIN (t->len, 65535);
  int ret = av_new_packet (pkt, (int) (len + (mov_text ? 2 : 0)));
  if (ret < 0)
    return ret;
  guint8 *d = pkt->data;
  if (mov_text) {
    d[0] = (guint8) (len >> 8);
    d[1] = (guint8) (len & 0xff);
    d += 2;
  }
  memcpy (d, t->str, len);
  return 0;
}

static gboolean
add_chapters (SpStage *st, AVFormatContext *out, const SpSegment *s, guint n)
{
  char buf[32];
  if (n == 0)
    return TRUE;
  out->chapters = av_calloc (n, sizeof (AVChapter *));
  if (out->chapters == NULL)
    return FALSE;
  for (guint i = 0; i < n; i++) {
    AVChapter *c = av_mallocz (sizeof (AVChapter));
    if (c == NULL)
      return FALSE;
    out->chapters[out->nb_chapters++] = c;
    c->id = i + 1;
    c->time_base = (AVRational) { 1, 1000 };
    c->start = ms_of (s[i].start);
    c->end = ms_of (s[i].end);
    if (av_dict_set (&c->metadata, "title", sp_sink_label (st, s[i].label, buf), 0) < 0)
      return FALSE;
  }
  return TRUE;
}

/* one copy in progress; remux_clear frees whatever was opened */
typedef struct {
  AVFormatContext *in, *out;
  AVPacket *pkt;
  int *map;             /* input stream -> output stream, -1 = left out */
  int sub;              /* the labels stream */
} Remux;

static void
remux_clear (Remux *r)
{
  av_packet_free (&r->pkt);
  if (r->out != NULL) {
    if (r->out->pb != NULL)
      avio_closep (&r->out->pb);
    avformat_free_context (r->out);
    r->out = NULL;
  }
  avformat_close_input (&r->in);
  g_clear_pointer (&r->map, g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Remux, remux_clear)

static gboolean
open_input (Remux *r, const char *path, GError **error)
{
  int ret;
  if ((ret = avformat_open_input (&r->in, path, NULL, NULL)) < 0)
    return av_fail (error, ret, path, "cannot open the input to copy it");
  if ((ret = avformat_find_stream_info (r->in, NULL)) < 0)
    return av_fail (error, ret, path, "cannot read the input to copy it");
  return TRUE;
}

/* the output's streams: the input's that the container can hold, then the labels */
static gboolean
add_streams (Remux *r, gboolean mov_text)
{
  r->map = g_new (int, r->in->nb_streams);
  for (unsigned i = 0; i < r->in->nb_streams; i++) {
    const AVStream *is = r->in->streams[i];
    r->map[i] = -1;
    if (avformat_query_codec (r->out->oformat, is->codecpar->codec_id,
                              FF_COMPLIANCE_NORMAL) != 1)
      continue;   /* the container cannot hold it: left out */
    AVStream *os = avformat_new_stream (r->out, NULL);
    if (os == NULL || avcodec_parameters_copy (os->codecpar, is->codecpar) < 0)
      return FALSE;
    os->codecpar->codec_tag = 0;
    os->time_base = is->time_base;
    os->disposition = is->disposition;
    if (av_dict_copy (&os->metadata, is->metadata, 0) < 0)
      return FALSE;
    r->map[i] = os->index;
  }
  AVStream *ss = avformat_new_stream (r->out, NULL);
  if (ss == NULL)
    return FALSE;
  ss->codecpar->codec_type = AVMEDIA_TYPE_SUBTITLE;
  ss->codecpar->codec_id = mov_text ? AV_CODEC_ID_MOV_TEXT : AV_CODEC_ID_WEBVTT;
  ss->time_base = (AVRational) { 1, 1000 };
  r->sub = ss->index;
  return av_dict_set (&ss->metadata, "title", "labels", 0) >= 0
         && av_dict_copy (&r->out->metadata, r->in->metadata, 0) >= 0;
}

static gboolean
open_output (SpStage *st, MuxPriv *p, Remux *r, GError **error)
{
  const char *path = st->output_path;
  const SpSegment *s = (const SpSegment *) (void *) p->segments->data;
  int ret = avformat_alloc_output_context2 (&r->out, NULL, muxer_names[p->format], path);
  if (ret < 0)
    return av_fail (error, ret, path, "cannot create");
  if (!add_streams (r, p->format == FORMAT_MP4) || !add_chapters (st, r->out, s, p->segments->len))
    return av_fail (error, AVERROR (ENOMEM), path, "cannot write");
  if ((ret = avio_open (&r->out->pb, path, AVIO_FLAG_WRITE)) < 0)
    return av_fail (error, ret, path, "cannot create");
  if ((ret = avformat_write_header (r->out, NULL)) < 0)
    return av_fail (error, ret, path, "cannot write");
  return TRUE;
}

/* one cue per segment; the muxer interleaves them with the copied packets */
static gboolean
write_cues (SpStage *st, MuxPriv *p, Remux *r, GError **error)
{
  const SpSegment *s = (const SpSegment *) (void *) p->segments->data;
  AVRational ms = { 1, 1000 }, tb = r->out->streams[r->sub]->time_base;
  char buf[32];
  int ret;
  for (guint i = 0; i < p->segments->len; i++) {
    if ((ret = cue_packet (r->pkt, sp_sink_label (st, s[i].label, buf),
                           p->format == FORMAT_MP4)) < 0)
      return av_fail (error, ret, st->output_path, "cannot write");
    r->pkt->stream_index = r->sub;
    r->pkt->pts = r->pkt->dts = av_rescale_q (ms_of (s[i].start), ms, tb);
    r->pkt->duration = av_rescale_q (ms_of (s[i].end) - ms_of (s[i].start), ms, tb);
    r->pkt->flags |= AV_PKT_FLAG_KEY;
    if ((ret = av_interleaved_write_frame (r->out, r->pkt)) < 0)
      return av_fail (error, ret, st->output_path, "cannot write");
  }
  return TRUE;
}

/* every packet of the input's kept streams, as it is */
static gboolean
copy_packets (SpStage *st, Remux *r, GError **error)
{
  int ret;
  while ((ret = av_read_frame (r->in, r->pkt)) >= 0) {
    int si = r->pkt->stream_index;
    if (si < 0 || (unsigned) si >= r->in->nb_streams || r->map[si] < 0) {
      av_packet_unref (r->pkt);
      continue;
    }
    av_packet_rescale_ts (r->pkt, r->in->streams[si]->time_base,
                          r->out->streams[r->map[si]]->time_base);
    r->pkt->stream_index = r->map[si];
    r->pkt->pos = -1;
    if ((ret = av_interleaved_write_frame (r->out, r->pkt)) < 0)
      return av_fail (error, ret, st->output_path, "cannot write");
  }
  if (ret != AVERROR_EOF)
    return av_fail (error, ret, st->input->path, "cannot read the input to copy it");
  return TRUE;
}

/* copies the input into the sink's path with the labels stream and chapters */
static gboolean
remux (SpStage *st, MuxPriv *p, GError **error)
{
  g_auto (Remux) r = { 0 };
  int ret;
  r.pkt = av_packet_alloc ();
  if (r.pkt == NULL)
    return av_fail (error, AVERROR (ENOMEM), st->output_path, "cannot write");
  if (!open_input (&r, st->input->path, error) || !open_output (st, p, &r, error)
      || !write_cues (st, p, &r, error) || !copy_packets (st, &r, error))
    return FALSE;
  if ((ret = av_write_trailer (r.out)) < 0 || (ret = avio_closep (&r.out->pb)) < 0)
    return av_fail (error, ret, st->output_path, "cannot write");
  return TRUE;
}

static gboolean
mux_flush (SpStage *st, GError **error)
{
  MuxPriv *p = st->priv;
  SpSegment done;
  if (sp_segmenter_finish (&p->seg, st, &done))
    g_array_append_val (p->segments, done);
  return remux (st, p, error);
}

static void
mux_finalize (SpStage *st)
{
  MuxPriv *p = st->priv;
  if (p->segments != NULL)
    g_array_unref (p->segments);
}

const SpStageClass sp_sink_mux = {
  .name = "mux",
  .kind = SP_STAGE_SINK,
  .description = "a copy of the input (streams copied) with the labels as subtitles and "
                 "the segments as chapters",
  .keys = mux_keys,
  .priv_size = sizeof (MuxPriv),
  .init = mux_init,
  .write = mux_write,
  .flush = mux_flush,
  .finalize = mux_finalize,
  .header_lines = 0,
  .can_combine = FALSE,
  .takes = SP_RECORDS_FRAME,
};
