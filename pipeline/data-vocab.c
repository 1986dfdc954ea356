/* vocab.c — tokeniser and vocabulary (see vocab.h). */
#include "data-vocab.h"

#include <stdlib.h>
#include <string.h>

static const char *const specials[] = { "<null>", "<start>", "<end>", "<unk>" };

char **
sp_tokenize (const char *caption)
{
  g_autofree char *low = g_utf8_strdown (caption, -1);
  GPtrArray *out = g_ptr_array_new ();
  GString *w = g_string_new (NULL);
  for (const char *p = low; *p; p = g_utf8_next_char (p)) {
    gunichar c = g_utf8_get_char (p);
    if (g_unichar_isspace (c) || g_unichar_ispunct (c)) {
      if (w->len)
        g_ptr_array_add (out, g_strndup (w->str, w->len));
      g_string_truncate (w, 0);
    } else {
      g_string_append_unichar (w, c);
    }
  }
  if (w->len)
    g_ptr_array_add (out, g_strndup (w->str, w->len));
  g_string_free (w, TRUE);
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_free (out, FALSE);
}

static SpVocab *
vocab_from (GPtrArray *words)
{
  SpVocab *v = g_new0 (SpVocab, 1);
  v->n = (int) words->len;
  g_ptr_array_add (words, NULL);
  v->words = (char **) g_ptr_array_free (words, FALSE);
  v->index = g_hash_table_new (g_str_hash, g_str_equal);
  for (int i = 0; i < v->n; i++)
    if (!g_hash_table_contains (v->index, v->words[i]))
      g_hash_table_insert (v->index, v->words[i], GINT_TO_POINTER (i + 1));
  return v;
}

typedef struct { const char *word; int count; } WordCount;

static int
cmp_count (const void *a, const void *b)
{
  const WordCount *x = a, *y = b;
  if (x->count != y->count)
    return x->count > y->count ? -1 : 1;
  return strcmp (x->word, y->word);
}

SpVocab *
sp_vocab_build (const char *const *captions, int min_count)
{
  g_autoptr (GHashTable) counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (int i = 0; captions[i]; i++) {
    g_auto (GStrv) tok = sp_tokenize (captions[i]);
    for (int k = 0; tok[k]; k++) {
      gpointer old = g_hash_table_lookup (counts, tok[k]);
      g_hash_table_replace (counts, g_strdup (tok[k]), GINT_TO_POINTER (GPOINTER_TO_INT (old) + 1));
    }
  }
  guint n = g_hash_table_size (counts);
  g_autofree WordCount *wc = g_new0 (WordCount, n + 1);
  GHashTableIter it;
  gpointer k, c;
  guint j = 0;
  g_hash_table_iter_init (&it, counts);
  while (g_hash_table_iter_next (&it, &k, &c))
    wc[j++] = (WordCount) { k, GPOINTER_TO_INT (c) };
  qsort (wc, n, sizeof *wc, cmp_count);
  GPtrArray *words = g_ptr_array_new ();
  for (int s = 0; s < 4; s++)
    g_ptr_array_add (words, g_strdup (specials[s]));
  for (guint i = 0; i < n; i++)
    if (wc[i].count >= min_count)
      g_ptr_array_add (words, g_strdup (wc[i].word));
  return vocab_from (words);
}

SpVocab *
sp_vocab_new (const char *const *words, GError **error)
{
  int n = words ? (int) g_strv_length ((char **) words) : 0;
  for (int s = 0; s < 4; s++)
    if (n <= s || strcmp (words[s], specials[s])) {
      g_set_error (error, g_quark_from_static_string ("sp-vocab"), 0,
                   "the vocabulary must start with <null>, <start>, <end>, <unk>");
      return NULL;
    }
  GPtrArray *w = g_ptr_array_new ();
  for (int i = 0; i < n; i++)
    g_ptr_array_add (w, g_strdup (words[i]));
  return vocab_from (w);
}

void
sp_vocab_free (SpVocab *v)
{
  if (!v)
    return;
  g_hash_table_unref (v->index);
  g_strfreev (v->words);
  g_free (v);
}

int32_t *
sp_vocab_encode (const SpVocab *v, const char *caption, int *n)
{
  g_auto (GStrv) tok = sp_tokenize (caption);
  int m = (int) g_strv_length (tok);
  int32_t *y = g_new (int32_t, m + 2);
  y[0] = 1;
  for (int i = 0; i < m; i++) {
    int k = GPOINTER_TO_INT (g_hash_table_lookup (v->index, tok[i])) - 1;
    y[i + 1] = k < 4 ? 3 : k;     /* <unk> also for a caption that spells a special */
  }
  y[m + 1] = 2;
  *n = m + 2;
  return y;
}

char *
sp_vocab_decode (const char *const *words, int n_words, const int32_t *tok, int n)
{
  GString *s = g_string_new (NULL);
  for (int i = 0; i < n; i++) {
    int k = tok[i];
    if (k < 0 || k >= n_words || k == 0 || k == 1 || k == 2)
      continue;
    if (s->len)
      g_string_append_c (s, ' ');
    g_string_append (s, words[k]);
  }
  return g_string_free (s, FALSE);
}
