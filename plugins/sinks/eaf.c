/* eaf.c — the `eaf` sink: the labeler's segments as an ELAN annotation document
 * (EAF 3.0), in the order the format requires:
 *   HEADER          TIME_UNITS="milliseconds", one MEDIA_DESCRIPTOR: MEDIA_URL the
 *                   input's file: URI, RELATIVE_MEDIA_URL the input relative to the
 *                   document (links.h), MIME_TYPE from the input's extension
 *   TIME_ORDER      TIME_SLOT ts1..ts(n+1): the segments' boundaries in ms (segment i
 *                   runs from slot i to slot i+1: segments tile the input, segmenter.h)
 *   TIER            TIER_ID `tier`, one ALIGNABLE_ANNOTATION a1..an per segment with
 *                   the label's name as ANNOTATION_VALUE
 *   LINGUISTIC_TYPE the tier's type `labels`, time-alignable
 * Text and attributes are XML-escaped.  DATE is the time of writing, or
 * $SOURCE_DATE_EPOCH when set (reproducible files).  The document is written at the
 * end of the input: the time slots precede the tier. */
#include <seqpipe/plugin.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fields.h"
#include "links.h"
#include "out.h"
#include "segmenter.h"
#include "sinks.h"

typedef struct {
  char *tier;           /* key */
  SpOut out;
  SpSegmenter seg;
  GArray *segments;     /* SpSegment */
  GString *doc;
} EafPriv;

static const SpKey eaf_keys[] = {
  { "tier", SP_KEY_STRING, G_STRUCT_OFFSET (EafPriv, tier), "labels", 0, 0, NULL,
    "TIER_ID of the tier of segments" },
  SP_KEY_END
};

static gint64
ms_of (double seconds)
{
  return isfinite (seconds) && seconds > 0 ? (gint64) llround (seconds * 1000.0) : 0;
}

static void
append_xml (GString *s, const char *text)
{
  g_autofree char *e = g_markup_escape_text (text, -1);
  g_string_append (s, e);
}

static const char *
mime_of (const char *name)
{
  static const char *const types[][2] = {
    { ".mp4", "video/mp4" }, { ".m4v", "video/mp4" }, { ".mov", "video/quicktime" },
    { ".mkv", "video/x-matroska" }, { ".webm", "video/webm" }, { ".avi", "video/x-msvideo" },
    { ".mpg", "video/mpeg" }, { ".mpeg", "video/mpeg" }, { ".ogv", "video/ogg" },
    { ".wav", "audio/x-wav" },
  };
  const char *dot = name != NULL ? strrchr (name, '.') : NULL;
  for (guint i = 0; dot != NULL && i < G_N_ELEMENTS (types); i++)
    if (g_ascii_strcasecmp (dot, types[i][0]) == 0)
      return types[i][1];
  return "unknown";
}

static char *
date_now (void)
{
  const char *epoch = g_getenv ("SOURCE_DATE_EPOCH");
  g_autoptr (GDateTime) t = epoch != NULL ? g_date_time_new_from_unix_utc (atoll (epoch))
                                          : g_date_time_new_now_utc ();
  return g_date_time_format (t, "%Y-%m-%dT%H:%M:%SZ");
}

static gboolean
eaf_init (SpStage *st, GError **error)
{
  EafPriv *p = st->priv;
  p->segments = g_array_new (FALSE, FALSE, sizeof (SpSegment));
  p->doc = g_string_sized_new (4096);
  return sp_out_open (&p->out, st->output_path, error);
}

static gboolean
eaf_write (SpStage *st, const SpRecord *r, GError **error)
{
  EafPriv *p = st->priv;
  SpSegment done;
  (void) error;
  if (sp_segmenter_push (&p->seg, r, &done))
    g_array_append_val (p->segments, done);
  return TRUE;
}

static void
append_header (SpStage *st, GString *d)
{
  g_autofree char *date = date_now ();
  g_autofree char *uri = sp_sink_input_uri (st);
  g_autofree char *rel = sp_sink_input_relative_url (st);
  g_string_append (d, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                   "<ANNOTATION_DOCUMENT AUTHOR=\"seqpipe\" DATE=\"");
  g_string_append (d, date);
  g_string_append (d, "\" FORMAT=\"3.0\" VERSION=\"3.0\" "
                   "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
                   "xsi:noNamespaceSchemaLocation=\"http://www.mpi.nl/tools/elan/EAFv3.0.xsd\">\n"
                   "  <HEADER MEDIA_FILE=\"\" TIME_UNITS=\"milliseconds\">\n");
  if (uri != NULL) {
    g_string_append (d, "    <MEDIA_DESCRIPTOR MEDIA_URL=\"");
    append_xml (d, uri);
    g_string_append (d, "\" MIME_TYPE=\"");
    g_string_append (d, mime_of (st->input->name ? st->input->name : st->input->path));
    g_string_append (d, "\" RELATIVE_MEDIA_URL=\"");
    append_xml (d, rel);
    g_string_append (d, "\"/>\n");
  }
  g_string_append (d, "  </HEADER>\n");
}

static gboolean
eaf_flush (SpStage *st, GError **error)
{
  EafPriv *p = st->priv;
  GString *d = p->doc;
  SpSegment done;
  char buf[32];
  if (sp_segmenter_finish (&p->seg, st, &done))
    g_array_append_val (p->segments, done);
  guint n = p->segments->len;
  const SpSegment *s = (const SpSegment *) (void *) p->segments->data;

  append_header (st, d);
  g_string_append (d, "  <TIME_ORDER>\n");
  for (guint i = 0; n > 0 && i <= n; i++)
    g_string_append_printf (d, "    <TIME_SLOT TIME_SLOT_ID=\"ts%u\" TIME_VALUE=\"%"
                            G_GINT64_FORMAT "\"/>\n", i + 1,
                            ms_of (i < n ? s[i].start : s[n - 1].end));
  g_string_append (d, "  </TIME_ORDER>\n  <TIER LINGUISTIC_TYPE_REF=\"labels\" TIER_ID=\"");
  append_xml (d, p->tier);
  g_string_append (d, "\">\n");
  for (guint i = 0; i < n; i++) {
    g_string_append_printf (d, "    <ANNOTATION>\n      <ALIGNABLE_ANNOTATION ANNOTATION_ID="
                            "\"a%u\" TIME_SLOT_REF1=\"ts%u\" TIME_SLOT_REF2=\"ts%u\">\n"
                            "        <ANNOTATION_VALUE>", i + 1, i + 1, i + 2);
    append_xml (d, sp_sink_label (st, s[i].label, buf));
    g_string_append (d, "</ANNOTATION_VALUE>\n      </ALIGNABLE_ANNOTATION>\n"
                     "    </ANNOTATION>\n");
    if (d->len > 65536 && !sp_out_gstring (&p->out, d, error))
      return FALSE;
  }
  g_string_append (d, "  </TIER>\n  <LINGUISTIC_TYPE GRAPHIC_REFERENCES=\"false\" "
                   "LINGUISTIC_TYPE_ID=\"labels\" TIME_ALIGNABLE=\"true\"/>\n"
                   "</ANNOTATION_DOCUMENT>\n");
  if (!sp_out_gstring (&p->out, d, error))
    return FALSE;
  return sp_out_close (&p->out, error);
}

static void
eaf_finalize (SpStage *st)
{
  EafPriv *p = st->priv;
  sp_out_abandon (&p->out);
  if (p->segments != NULL)
    g_array_unref (p->segments);
  if (p->doc != NULL)
    g_string_free (p->doc, TRUE);
}

const SpStageClass sp_sink_eaf = {
  .name = "eaf",
  .kind = SP_STAGE_SINK,
  .description = "ELAN annotation document (EAF 3.0): one tier of the labelled segments",
  .keys = eaf_keys,
  .priv_size = sizeof (EafPriv),
  .init = eaf_init,
  .write = eaf_write,
  .flush = eaf_flush,
  .finalize = eaf_finalize,
  .header_lines = 0,
  .can_combine = FALSE,
  .takes = SP_RECORDS_FRAME,
};
