/* run-sinks.c — a run's sinks (run-sinks.h): checking them against the run's head,
 * each input's sink instances, and records and frames routed to the sinks that take
 * them.  Naming, temporary files and run-wide files: run-sinks-private.h. */
#include "run-sinks-private.h"

#include <glib/gstdio.h>
#include <string.h>

char *
sp_sinks_full_path (SpSinkSet *s, const char *rel)
{
  if (g_path_is_absolute (rel))
    return g_strdup (rel);
  return g_build_filename (s->output_dir, rel, NULL);
}

/* whether a sink that takes `takes` gets anything in a run whose head makes `records`
 * (0 = no head) */
static gboolean
sink_fits (unsigned takes, unsigned records)
{
  return (takes & SP_TAKES_FRAMES) || (records != 0 && (takes & records));
}

SpSinkSet *
sp_sinks_new (SpConfig *c, const SpSinkSpec *specs, int n_specs, const char *output_dir,
              const SpInputInfo *inputs, int n_inputs, const SpStageClass *head,
              GError **error)
{
  return sp_sinks_new_for_shard (c, specs, n_specs, output_dir, inputs, n_inputs, head, "",
                                 error);
}

SpSinkSet *
sp_sinks_new_for_shard (SpConfig *c, const SpSinkSpec *specs, int n_specs,
                        const char *output_dir, const SpInputInfo *inputs, int n_inputs,
                        const SpStageClass *head, const char *suffix, GError **error)
{
  g_autoptr (SpSinkSet) s = g_new0 (SpSinkSet, 1);

  g_mutex_init (&s->lock);
  s->config = c;
  s->output_dir = g_strdup (output_dir);
  s->inputs = inputs;
  s->n_inputs = n_inputs;
  s->defs = g_new0 (SinkDef, n_specs);
  s->n = n_specs;
  s->names = g_new0 (char *, n_specs + 1);
  s->records = head != NULL ? head->records : 0;
  s->run_suffix = g_strdup (suffix);
  s->summary_name = sp_sinks_suffixed ("summary.json", suffix);

  for (int k = 0; k < n_specs; k++)
    {
      SinkDef *d = &s->defs[k];
      const SpSinkSpec *sp = &specs[k];

      d->name = g_strdup (sp->name);
      d->group = g_strdup_printf ("sink:%s", sp->name);
      d->klass = sp->klass;
      d->rel = g_new0 (char *, n_inputs);
      d->parts = g_new0 (char *, n_inputs);
      s->names[k] = g_strdup (sp->name);
      if (sp->path == NULL || sp->path[0] == '\0')
        {
          g_set_error (error, SP_ERROR, SP_ERROR_CONFIG,
                       "[%s] path: missing; expected a file name relative to output-dir",
                       d->group);
          return NULL;
        }
      d->takes = sp_stage_class_takes (sp->klass);
      if (!sink_fits (d->takes, s->records))
        {
          unsigned takes = d->takes & SP_RECORDS_ALL;

          if (head != NULL)
            g_set_error (error, SP_ERROR, SP_ERROR_CONFIG,
                         "[%s] plugin: the %s sink takes %s, but the %s head gives %s",
                         d->group, sp->klass->name,
                         sp_records_describe (takes), head->name,
                         sp_records_describe (s->records));
          else
            g_set_error (error, SP_ERROR, SP_ERROR_CONFIG,
                         "[%s] plugin: the %s sink takes %s of a head, and this run has no "
                         "[head]", d->group, sp->klass->name, sp_records_describe (takes));
          return NULL;
        }
    }
  if (!sp_sinks_name_outputs (s, specs, error))
    return NULL;
  return g_steal_pointer (&s);
}

void
sp_sinks_free (SpSinkSet *s)
{
  if (s == NULL)
    return;
  for (int k = 0; k < s->n; k++)
    {
      SinkDef *d = &s->defs[k];

      for (int i = 0; d->parts != NULL && i < s->n_inputs; i++)
        {
          if (d->parts[i] != NULL)
            g_unlink (d->parts[i]);
          g_free (d->parts[i]);
          g_free (d->rel[i]);
        }
      g_free (d->parts);
      g_free (d->rel);
      g_free (d->name);
      g_free (d->group);
      g_free (d->run_rel);
    }
  g_free (s->defs);
  g_strfreev (s->names);
  g_free (s->output_dir);
  g_free (s->run_suffix);
  g_free (s->summary_name);
  g_mutex_clear (&s->lock);
  g_free (s);
}

gboolean
sp_sinks_per_input (SpSinkSet *s, int k)
{
  return s->defs[k].per_input;
}

const char *
sp_sinks_summary_name (SpSinkSet *s)
{
  return s->summary_name;
}

int
sp_sinks_count (SpSinkSet *s)
{
  return s->n;
}

const char *const *
sp_sinks_names (SpSinkSet *s)
{
  return (const char *const *) s->names;
}

static void
aux_file_free (gpointer p)
{
  AuxFile *a = p;

  g_free (a->suffix);
  g_free (a->tmp);
  g_free (a);
}

/* finalizes the instance's stage (closing its files) */
static void
inst_close (SinkInst *in)
{
  if (in->stage == NULL)
    return;
  g_clear_pointer (&in->stage, sp_stage_free);
}

static void
inst_remove_files (SinkInst *in)
{
  if (in->tmp != NULL)
    g_unlink (in->tmp);
  for (guint j = 0; in->aux != NULL && j < in->aux->len; j++)
    g_unlink (((AuxFile *) in->aux->pdata[j])->tmp);
}

static void
output_free (SpSinkOutput *o)
{
  for (int k = 0; k < o->n; k++)
    {
      inst_close (&o->inst[k]);
      g_free (o->inst[k].tmp);
      g_free (o->inst[k].final);
      if (o->inst[k].aux != NULL)
        g_ptr_array_unref (o->inst[k].aux);
    }
  g_free (o->inst);
  g_free (o);
}

void
sp_sinks_abort (SpSinkOutput *o)
{
  if (o == NULL)
    return;
  for (int k = 0; k < o->n; k++)
    {
      inst_close (&o->inst[k]);
      inst_remove_files (&o->inst[k]);
    }
  output_free (o);
}

SpSinkOutput *
sp_sinks_open (SpSinkSet *s, int input, const SpDecoderParams *dec,
               const char *const *labels, int n_labels, int feature_dim, double duration,
               GError **error)
{
  SpSinkOutput *o = g_new0 (SpSinkOutput, 1);

  o->set = s;
  o->input = input;
  o->inst = g_new0 (SinkInst, s->n);
  o->n = s->n;
  for (int k = 0; k < s->n; k++)
    {
      SinkDef *d = &s->defs[k];
      SinkInst *in = &o->inst[k];
      g_autofree char *final = sp_sinks_full_path (s, d->per_input ? d->rel[input] : d->run_rel);
      SpStage *st;

      in->set = s;
      in->def = d;
      in->aux = g_ptr_array_new_with_free_func (aux_file_free);
      in->tmp = sp_sinks_make_temp (final, d->combined ? ".part" : NULL, error);
      if (in->tmp == NULL)
        goto fail;
      if (!d->combined)
        in->final = g_steal_pointer (&final);
      st = sp_stage_new (s->config, d->klass, d->group, &s->inputs[input], dec, error);
      if (st == NULL)
        goto fail;
      in->stage = st;
      st->output_path = in->tmp;
      st->combined = d->combined;
      st->records = s->records;
      sp_stage_host (st)->duration = duration;
      st->feature_dim = feature_dim;
      st->labels = labels;
      st->n_labels = n_labels;
      sp_stage_host (st)->aux_path = sp_sinks_aux_path;
      sp_stage_host (st)->aux_data = in;
      if (!sp_stage_init (st, error))
        goto fail;
    }
  return o;

fail:
  sp_sinks_abort (o);
  return NULL;
}

const char *
sp_sinks_aux_path (SpStage *st, const char *suffix, GError **error)
{
  SinkInst *in;
  AuxFile *a;

  in = sp_stage_host (st)->aux_data;
  if (in == NULL || suffix == NULL || suffix[0] == '\0' || strchr (suffix, '/') != NULL)
    {
      g_set_error (error, SP_ERROR, SP_ERROR_INPUT,
                   "a second output needs a sink of a run and a suffix without '/'");
      return NULL;
    }
  if (in->final == NULL)
    {
      g_set_error (error, SP_ERROR, SP_ERROR_CONFIG,
                   "[%s] path: a second file (%s) cannot be written when one file holds the "
                   "whole run; expected a path with {stem} or {name}", in->def->group, suffix);
      return NULL;
    }
  for (guint j = 0; j < in->aux->len; j++)
    {
      a = in->aux->pdata[j];
      if (strcmp (a->suffix, suffix) == 0)
        return a->tmp;
    }
  a = g_new0 (AuxFile, 1);
  a->suffix = g_strdup (suffix);
  a->tmp = sp_sinks_make_temp (in->final, suffix, error);
  if (a->tmp == NULL)
    {
      aux_file_free (a);
      return NULL;
    }
  g_ptr_array_add (in->aux, a);
  return a->tmp;
}

/* "[sink:NAME] MESSAGE", the temporary file named by the file it becomes */
static gboolean
sink_error (SinkInst *in, GError **error, GError *local)
{
  if (in->tmp != NULL && strstr (local->message, in->tmp) != NULL)
    {
      g_autofree char *final = in->final ? g_strdup (in->final)
                               : sp_sinks_full_path (in->set, in->def->run_rel);
      g_auto (GStrv) parts = g_strsplit (local->message, in->tmp, -1);

      g_free (local->message);
      local->message = g_strjoinv (final, parts);
    }
  g_propagate_prefixed_error (error, local, "[%s] ", in->def->group);
  return FALSE;
}

gboolean
sp_sinks_write (SpSinkOutput *o, const SpRecord *record, GError **error)
{
  for (int k = 0; k < o->n; k++)
    {
      SinkInst *in = &o->inst[k];
      GError *local = NULL;

      if ((in->def->takes & o->set->records) && !sp_stage_write (in->stage, record, &local))
        return sink_error (in, error, local);
    }
  return TRUE;
}

gboolean
sp_sinks_frame (SpSinkOutput *o, const SpFrame *frame, GError **error)
{
  for (int k = 0; k < o->n; k++)
    {
      SinkInst *in = &o->inst[k];
      GError *local = NULL;

      if ((in->def->takes & SP_TAKES_FRAMES) && !sp_stage_frame (in->stage, frame, &local))
        return sink_error (in, error, local);
    }
  return TRUE;
}

gboolean
sp_sinks_flush (SpSinkOutput *o, GError **error)
{
  for (int k = 0; k < o->n; k++)
    {
      SinkInst *in = &o->inst[k];
      GError *local = NULL;

      if (!sp_stage_flush (in->stage, &local))
        return sink_error (in, error, local);
    }
  return TRUE;
}

gboolean
sp_sinks_commit (SpSinkOutput *o, GError **error)
{
  SpSinkSet *s = o->set;
  g_autoptr (GPtrArray) done = g_ptr_array_new_with_free_func (g_free);

  for (int k = 0; k < o->n; k++)
    inst_close (&o->inst[k]);
  for (int k = 0; k < o->n; k++)
    {
      SinkInst *in = &o->inst[k];

      if (in->final == NULL)
        continue;
      if (!sp_sinks_rename (in->tmp, in->final, error))
        goto fail;
      g_ptr_array_add (done, g_strdup (in->final));
      g_clear_pointer (&in->tmp, g_free);
      for (guint j = 0; j < in->aux->len; j++)
        {
          AuxFile *a = in->aux->pdata[j];
          g_autofree char *final = g_strconcat (in->final, a->suffix, NULL);

          if (!sp_sinks_rename (a->tmp, final, error))
            goto fail;
          g_ptr_array_add (done, g_steal_pointer (&final));
          g_clear_pointer (&a->tmp, g_free);
        }
    }
  g_mutex_lock (&s->lock);
  for (int k = 0; k < o->n; k++)
    if (o->inst[k].final == NULL)
      s->defs[k].parts[o->input] = g_steal_pointer (&o->inst[k].tmp);
  g_mutex_unlock (&s->lock);
  output_free (o);
  return TRUE;

fail:
  for (guint j = 0; j < done->len; j++)
    g_unlink (done->pdata[j]);
  sp_sinks_abort (o);
  return FALSE;
}

gboolean
sp_sinks_finish (SpSinkSet *s, GError **error)
{
  gboolean ok = TRUE;

  for (int k = 0; k < s->n; k++)
    {
      SinkDef *d = &s->defs[k];
      gboolean any = FALSE;

      if (!d->combined)
        continue;
      for (int i = 0; i < s->n_inputs; i++)
        any |= d->parts[i] != NULL;
      if (any && ok)
        {
          ok = sp_sinks_write_combined (s, d, error);
          d->written = ok;
        }
      for (int i = 0; i < s->n_inputs; i++)
        if (d->parts[i] != NULL)
          {
            g_unlink (d->parts[i]);
            g_clear_pointer (&d->parts[i], g_free);
          }
    }
  return ok;
}

const char *
sp_sinks_output (SpSinkSet *s, int input, int k)
{
  SinkDef *d = &s->defs[k];

  if (d->per_input)
    return d->rel[input];
  if (d->combined && !d->written)
    return NULL;
  return d->run_rel;
}
