/* data-vocab.h — the captioner's tokeniser and vocabulary (DESIGN §7).
 *
 * Tokens: the caption lower-cased (ASCII and Unicode), split on white space and
 * punctuation; punctuation is dropped.  Vocabulary: <null>=0, <start>=1, <end>=2,
 * <unk>=3, then the words seen at least min_count times, by decreasing count, ties
 * alphabetical.  Rarer words encode as <unk>.
 */
#ifndef SP_VOCAB_H
#define SP_VOCAB_H

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

/* NULL-terminated list of tokens (newly allocated) */
char **sp_tokenize (const char *caption);

typedef struct {
  char **words;          /* NULL-terminated, owned: specials first */
  int n;
  GHashTable *index;     /* word -> GINT_TO_POINTER (i + 1) */
} SpVocab;

/* From captions (NULL-terminated list); min_count >= 1 */
SpVocab *sp_vocab_build (const char *const *captions, int min_count);
/* From a checkpoint's word list (must start with the four specials) */
SpVocab *sp_vocab_new (const char *const *words, GError **error);
void sp_vocab_free (SpVocab *v);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpVocab, sp_vocab_free)

/* <start> w1 .. wn <end> into a newly allocated array; *n = n + 2 */
int32_t *sp_vocab_encode (const SpVocab *v, const char *caption, int *n);
/* tokens (without specials) joined by spaces; specials other than <unk> are skipped */
char *sp_vocab_decode (const char *const *words, int n_words, const int32_t *tok, int n);

G_END_DECLS

#endif
