/* Fake stages for the end-to-end tests: behaviour chosen by the test, no media needed.
 *
 * decoder `e2e-dec` (extension .fake): the file holds "key=value" words:
 *   frames=N      frames to deliver (default 10)
 *   dim=D         D > 0: features of D floats (frame i: all i); 0: rgb frames
 *   broken=K      every K-th frame is lost: SP_DECODE_BROKEN (0 = none)
 *   fail-at=M     decoding frame M is a fatal error (-1 = never)
 *   sleep-ms=S    sleep S ms per frame (for interrupts)
 * A file that does not parse is an open error naming the file.
 *
 * sink `e2e-lines` (text, combinable, one header line): "frame,label" per record,
 *   with an `input` column first when combined; key fail-at=M fails writing frame M.
 * sink `e2e-bin` (cannot combine): "T\n" at flush, and an aux file ".frames" with one
 *   frame index per line. */
#include <seqpipe/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  gint64 frames, dim, broken, fail_at, sleep_ms;
  gint64 next, attempts;
} Dec;

static gboolean
dec_init (SpStage *st, GError **error)
{
  Dec *d = st->priv;
  g_autofree char *text = NULL;
  g_auto (GStrv) words = NULL;

  d->frames = 10;
  d->fail_at = -1;
  if (!g_file_get_contents (st->input->path, &text, NULL, error))
    return FALSE;
  words = g_strsplit_set (g_strstrip (text), " \n", -1);
  for (int i = 0; words[i] != NULL; i++)
    {
      gint64 *slot = NULL;
      char *eq = strchr (words[i], '='), *end = NULL;

      if (words[i][0] == '\0')
        continue;
      if (eq != NULL)
        {
          *eq = '\0';
          slot = !strcmp (words[i], "frames") ? &d->frames
               : !strcmp (words[i], "dim") ? &d->dim
               : !strcmp (words[i], "broken") ? &d->broken
               : !strcmp (words[i], "fail-at") ? &d->fail_at
               : !strcmp (words[i], "sleep-ms") ? &d->sleep_ms : NULL;
        }
      if (slot == NULL || (*slot = g_ascii_strtoll (eq + 1, &end, 10), *end != '\0'))
        {
          g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_FORMAT,
                       "%s: not a fake video", st->input->path);
          return FALSE;
        }
    }
  if (d->dim > 0)
    sp_stage_set_feature_dim (st, (int) d->dim);
  sp_stage_set_expected_frames (st, d->frames);
  return TRUE;
}

static SpDecodeStatus
dec_decode (SpStage *st, SpFrame *f, GError **error)
{
  Dec *d = st->priv;

  if (d->next >= d->frames)
    return SP_DECODE_EOF;
  if (d->sleep_ms > 0)
    g_usleep (d->sleep_ms * 1000);
  if (d->next == d->fail_at)
    {
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_FORMAT, "%s: frame %" G_GINT64_FORMAT
                   " is damaged beyond repair", st->input->path, d->next);
      return SP_DECODE_ERROR;
    }
  d->attempts++;
  if (d->broken > 0 && d->attempts % d->broken == 0)
    {
      d->next++;          /* that frame is lost */
      return SP_DECODE_BROKEN;
    }
  f->index = d->next;
  f->time = d->next * 0.1;
  if (d->dim > 0)
    for (int j = 0; j < d->dim; j++)
      f->features[j] = (float) d->next;
  else
    memset (f->rgb, (int) (d->next & 0xff), (size_t) f->width * f->height * 3);
  d->next++;
  return SP_DECODE_FRAME;
}

static void
dec_finalize (SpStage *st)
{
  (void) st;
}

static const char *const fake_ext[] = { "fake", NULL };

static const SpStageClass e2e_dec = {
  .name = "e2e-dec", .kind = SP_STAGE_DECODER,
  .description = "frames described by a text file (tests)",
  .priv_size = sizeof (Dec), .extensions = fake_ext,
  .init = dec_init, .decode = dec_decode, .finalize = dec_finalize,
};

/* ---- sinks --------------------------------------------------------------------- */

typedef struct {
  gint64 fail_at;
  FILE *out;
  FILE *aux;
  gint64 n;
} Lines;

static const SpKey lines_keys[] = {
  { "fail-at", SP_KEY_INT, G_STRUCT_OFFSET (Lines, fail_at), "-1", -1, 1e9, NULL,
    "fail writing this frame (-1 never)" },
  SP_KEY_END
};

static gboolean
lines_init (SpStage *st, GError **error)
{
  Lines *l = st->priv;

  l->out = fopen (st->output_path, "w");
  if (l->out == NULL)
    {
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_IO, "%s: cannot open",
                   st->output_path);
      return FALSE;
    }
  fprintf (l->out, "%sframe,label\n", st->combined ? "input," : "");
  return TRUE;
}

static gboolean
lines_write (SpStage *st, const SpRecord *r, GError **error)
{
  Lines *l = st->priv;
  gint64 frame = r->frame ? r->frame->index : -1;

  if (frame >= 0 && frame == l->fail_at)
    {
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_IO, "%s: disk full (on purpose)",
                   st->output_path);
      return FALSE;
    }
  if (st->combined)
    fprintf (l->out, "%s,", st->input->path);
  fprintf (l->out, "%" G_GINT64_FORMAT ",%d\n", frame, r->label);
  return TRUE;
}

/* in a run without a head, every frame as a line with label -1 */
static gboolean
lines_frame (SpStage *st, const SpFrame *f, GError **error)
{
  SpRecord r = { .frame = f, .label = -1 };

  if (st->records != 0)
    return TRUE;
  return lines_write (st, &r, error);
}

static gboolean
lines_flush (SpStage *st, GError **error)
{
  Lines *l = st->priv;

  if (fflush (l->out) != 0)
    {
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_IO, "%s: write failed",
                   st->output_path);
      return FALSE;
    }
  return TRUE;
}

static void
lines_finalize (SpStage *st)
{
  Lines *l = st->priv;

  if (l->out != NULL)
    fclose (l->out);
  if (l->aux != NULL)
    fclose (l->aux);
}

static const SpStageClass e2e_lines = {
  .name = "e2e-lines", .kind = SP_STAGE_SINK,
  .description = "frame,label lines (tests)", .keys = lines_keys,
  .priv_size = sizeof (Lines),
  .init = lines_init, .write = lines_write, .flush = lines_flush,
  .finalize = lines_finalize, .header_lines = 1, .can_combine = TRUE,
  .takes = SP_RECORDS_ALL | SP_TAKES_FRAMES, .frame = lines_frame,
};

static gboolean
bin_init (SpStage *st, GError **error)
{
  Lines *l = st->priv;
  const char *aux = sp_stage_output_path_aux (st, ".frames", error);

  if (aux == NULL)
    return FALSE;
  l->out = fopen (st->output_path, "w");
  l->aux = fopen (aux, "w");
  if (l->out == NULL || l->aux == NULL)
    {
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_IO, "%s: cannot open",
                   st->output_path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
bin_frame (SpStage *st, const SpFrame *f, GError **error)
{
  Lines *l = st->priv;

  (void) error;
  fprintf (l->aux, "%" G_GINT64_FORMAT "\n", f->index);
  l->n++;
  return TRUE;
}

static gboolean
bin_flush (SpStage *st, GError **error)
{
  Lines *l = st->priv;

  (void) error;
  fprintf (l->out, "%" G_GINT64_FORMAT "\n", l->n);
  return TRUE;
}

static const SpStageClass e2e_bin = {
  .name = "e2e-bin", .kind = SP_STAGE_SINK,
  .description = "a count and an aux file of frame indices (tests)",
  .priv_size = sizeof (Lines),
  .init = bin_init, .frame = bin_frame, .flush = bin_flush,
  .finalize = lines_finalize, .header_lines = 0, .can_combine = FALSE,
  .takes = SP_TAKES_FRAMES,
};

/* `e2e-only`: takes per-input records only, so no run of these tests can feed it */
static const SpStageClass e2e_only = {
  .name = "e2e-only", .kind = SP_STAGE_SINK,
  .description = "per-input records only (tests)", .keys = lines_keys,
  .priv_size = sizeof (Lines),
  .init = lines_init, .write = lines_write, .flush = lines_flush,
  .finalize = lines_finalize, .header_lines = 1, .can_combine = TRUE,
  .takes = SP_RECORDS_INPUT,
};

/* ---- head `e2e-head`: per-frame records (SP_RECORDS_FRAME) for every `every`-th
 * frame (label = index % 3); `fail-init` fails init as a config error; `wrong` emits
 * a per-input record at flush, which its declaration does not allow. */

typedef struct {
  gint64 every;
  gboolean fail_init;
  gboolean wrong;
} Head;

static const SpKey head_keys[] = {
  { "every", SP_KEY_INT, G_STRUCT_OFFSET (Head, every), "2", 1, 1000, NULL,
    "emit for frames whose index is a multiple of this" },
  { "fail-init", SP_KEY_BOOL, G_STRUCT_OFFSET (Head, fail_init), "false", 0, 0, NULL,
    "fail init (a config error)" },
  { "wrong", SP_KEY_BOOL, G_STRUCT_OFFSET (Head, wrong), "false", 0, 0, NULL,
    "emit a per-input record at flush (against the declaration)" },
  SP_KEY_END
};

static gboolean
head_init (SpStage *st, GError **error)
{
  static const char *const labels[] = { "a", "b", "c" };
  Head *h = st->priv;

  if (h->fail_init)
    {
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_CONFIG,
                   "[head] fail-init: refusing to start (on purpose)");
      return FALSE;
    }
  sp_stage_set_labels (st, labels, 3);
  return TRUE;
}

static gboolean
head_process (SpStage *st, SpFrame *f, GError **error)
{
  Head *h = st->priv;
  SpRecord r = { .frame = f, .label = (int) (f->index % 3), .score = 0.5f };

  if (f->index % h->every != 0)
    return TRUE;
  return sp_stage_emit (st, &r, error);
}

static gboolean
head_flush (SpStage *st, GError **error)
{
  Head *h = st->priv;
  SpRecord r = { .frame = NULL, .label = 1, .score = 1.0f };

  return !h->wrong || sp_stage_emit (st, &r, error);
}

static const SpStageClass e2e_head = {
  .name = "e2e-head", .kind = SP_STAGE_HEAD,
  .description = "records for some frames and one per input (tests)",
  .keys = head_keys, .priv_size = sizeof (Head),
  .init = head_init, .process = head_process, .flush = head_flush,
  .finalize = dec_finalize, .records = SP_RECORDS_FRAME,
};

SP_PLUGIN_DEFINE ("e2e-fake", "1.0", "fake stages for the end-to-end tests", "MIT",
                  &e2e_dec, &e2e_lines, &e2e_bin, &e2e_only, &e2e_head);
