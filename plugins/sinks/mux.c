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

/* copies the input into path with the labels stream and chapters */
static gboolean
remux (SpStage *st, MuxPriv *p, GError **error)
{
  const char *in_path = st->input->path, *path = st->output_path;
  const SpSegment *s = (const SpSegment *) (void *) p->segments->data;
  guint n = p->segments->len;
  gboolean mov_text = p->format == FORMAT_MP4, ok = FALSE;
  AVFormatContext *in = NULL, *out = NULL;
  AVPacket *pkt = av_packet_alloc ();
  g_autofree int *map = NULL;
  char buf[32];
  int ret, sub = -1;

  if (pkt == NULL)
    return av_fail (error, AVERROR (ENOMEM), path, "cannot write");
  if ((ret = avformat_open_input (&in, in_path, NULL, NULL)) < 0) {
    av_fail (error, ret, in_path, "cannot open the input to copy it");
    goto done;
  }
  if ((ret = avformat_find_stream_info (in, NULL)) < 0) {
    av_fail (error, ret, in_path, "cannot read the input to copy it");
    goto done;
  }
  if ((ret = avformat_alloc_output_context2 (&out, NULL, muxer_names[p->format], path)) < 0) {
    av_fail (error, ret, path, "cannot create");
    goto done;
  }
  map = g_new (int, in->nb_streams);
  for (unsigned i = 0; i < in->nb_streams; i++) {
    const AVCodecParameters *par = in->streams[i]->codecpar;
    map[i] = -1;
    if (avformat_query_codec (out->oformat, par->codec_id, FF_COMPLIANCE_NORMAL) != 1)
      continue;   /* the container cannot hold it: left out */
    AVStream *os = avformat_new_stream (out, NULL);
    if (os == NULL || avcodec_parameters_copy (os->codecpar, par) < 0)
      goto oom;
    os->codecpar->codec_tag = 0;
    os->time_base = in->streams[i]->time_base;
    os->disposition = in->streams[i]->disposition;
    av_dict_copy (&os->metadata, in->streams[i]->metadata, 0);
    map[i] = os->index;
  }
  AVStream *ss = avformat_new_stream (out, NULL);
  if (ss == NULL)
    goto oom;
  ss->codecpar->codec_type = AVMEDIA_TYPE_SUBTITLE;
  ss->codecpar->codec_id = mov_text ? AV_CODEC_ID_MOV_TEXT : AV_CODEC_ID_WEBVTT;
  ss->time_base = (AVRational) { 1, 1000 };
  av_dict_set (&ss->metadata, "title", "labels", 0);
  sub = ss->index;
  if (!add_chapters (st, out, s, n))
    goto oom;
  av_dict_copy (&out->metadata, in->metadata, 0);

  if ((ret = avio_open (&out->pb, path, AVIO_FLAG_WRITE)) < 0) {
    av_fail (error, ret, path, "cannot create");
    goto done;
  }
  if ((ret = avformat_write_header (out, NULL)) < 0) {
    av_fail (error, ret, path, "cannot write");
    goto done;
  }
  AVRational sub_tb = out->streams[sub]->time_base;
  for (guint i = 0; i < n; i++) {
    if ((ret = cue_packet (pkt, sp_sink_label (st, s[i].label, buf), mov_text)) < 0)
      goto oom;
    pkt->stream_index = sub;
    pkt->pts = pkt->dts = av_rescale_q (ms_of (s[i].start), (AVRational) { 1, 1000 }, sub_tb);
    pkt->duration = av_rescale_q (ms_of (s[i].end) - ms_of (s[i].start),
                                  (AVRational) { 1, 1000 }, sub_tb);
    pkt->flags |= AV_PKT_FLAG_KEY;
    if ((ret = av_interleaved_write_frame (out, pkt)) < 0) {
      av_fail (error, ret, path, "cannot write");
      goto done;
    }
  }
  while ((ret = av_read_frame (in, pkt)) >= 0) {
    int si = pkt->stream_index;
    if (si < 0 || (unsigned) si >= in->nb_streams || map[si] < 0) {
      av_packet_unref (pkt);
      continue;
    }
    av_packet_rescale_ts (pkt, in->streams[si]->time_base, out->streams[map[si]]->time_base);
    pkt->stream_index = map[si];
    pkt->pos = -1;
    if ((ret = av_interleaved_write_frame (out, pkt)) < 0) {
      av_fail (error, ret, path, "cannot write");
      goto done;
    }
  }
  if (ret != AVERROR_EOF) {
    av_fail (error, ret, in_path, "cannot read the input to copy it");
    goto done;
  }
  if ((ret = av_write_trailer (out)) < 0) {
    av_fail (error, ret, path, "cannot write");
    goto done;
  }
  if ((ret = avio_closep (&out->pb)) < 0) {
    av_fail (error, ret, path, "cannot write");
    goto done;
  }
  ok = TRUE;
  goto done;
oom:
  av_fail (error, AVERROR (ENOMEM), path, "cannot write");
done:
  av_packet_free (&pkt);
  if (out != NULL) {
    if (out->pb != NULL)
      avio_closep (&out->pb);
    avformat_free_context (out);
  }
  avformat_close_input (&in);
  return ok;
}

static gboolean
mux_flush (SpStage *st, GError **error)
{
  MuxPriv *p = st->priv;
  SpSegment done;
  if (sp_segmenter_finish (&p->seg, st->decoder, &done))
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
