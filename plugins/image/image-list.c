/* image-list.c — expand an `image` input (file, directory or pattern) to its files. */
#include "image-list.h"

#include <seqpipe/plugin.h>
#include <string.h>

/* what stb_image reads; ppm/pgm/pnm are its PNM loader, pic is Softimage PIC */
static const char *const image_exts[] = {
  "png", "jpg", "jpeg", "bmp", "tga", "gif", "ppm", "pgm", "pnm", "psd", "hdr", "pic", NULL
};

gboolean
sp_image_has_extension (const char *name)
{
  const char *dot = strrchr (name, '.');
  if (dot == NULL || strchr (dot, G_DIR_SEPARATOR) != NULL)
    return FALSE;
  for (int i = 0; image_exts[i] != NULL; i++)
    if (g_ascii_strcasecmp (dot + 1, image_exts[i]) == 0)
      return TRUE;
  return FALSE;
}

int
sp_natural_compare (const char *a, const char *b)
{
  const char *p = a, *q = b;
  while (*p != '\0' && *q != '\0')
    {
      if (g_ascii_isdigit (*p) && g_ascii_isdigit (*q))
        {
          /* compare the numbers: without leading zeros, longer is larger */
          while (*p == '0' && g_ascii_isdigit (p[1]))
            p++;
          while (*q == '0' && g_ascii_isdigit (q[1]))
            q++;
          size_t lp = 0, lq = 0;
          while (g_ascii_isdigit (p[lp]))
            lp++;
          while (g_ascii_isdigit (q[lq]))
            lq++;
          if (lp != lq)
            return lp < lq ? -1 : 1;
          int c = memcmp (p, q, lp);
          if (c != 0)
            return c < 0 ? -1 : 1;
          p += lp;
          q += lq;
          continue;
        }
      if (*p != *q)
        return (unsigned char) *p < (unsigned char) *q ? -1 : 1;
      p++;
      q++;
    }
  if (*p != '\0' || *q != '\0')
    return *p != '\0' ? 1 : -1;
  /* equal but for leading zeros: fall back to bytes for a total order */
  return strcmp (a, b);
}

static int
natural_qsort (gconstpointer a, gconstpointer b)
{
  return sp_natural_compare (*(char *const *) a, *(char *const *) b);
}

static char **
list_directory (const char *path, GError **error)
{
  g_autoptr (GError) err = NULL;
  g_autoptr (GDir) dir = g_dir_open (path, 0, &err);
  if (dir == NULL)
    {
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_OPEN, "%s: cannot open directory: %s",
                   path, err->message);
      return NULL;
    }
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      if (name[0] == '.' || !sp_image_has_extension (name))
        continue;
      g_autofree char *full = g_build_filename (path, name, NULL);
      if (g_file_test (full, G_FILE_TEST_IS_REGULAR))
        g_ptr_array_add (names, g_steal_pointer (&full));
    }
  if (names->len == 0)
    {
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_OPEN,
                   "%s: no image files in the directory", path);
      return NULL;
    }
  g_ptr_array_sort (names, natural_qsort);
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
}

/* Splits path at its one %d conversion: prefix, suffix (with %% made '%'), the
 * field width and whether it pads with zeros.  FALSE when path is not a pattern. */
static gboolean
parse_pattern (const char *path, GString *prefix, GString *suffix, int *width, gboolean *zero)
{
  GString *cur = prefix;
  int conversions = 0;
  for (const char *c = path; *c != '\0'; c++)
    {
      if (*c != '%')
        {
          g_string_append_c (cur, *c);
          continue;
        }
      if (c[1] == '%')
        {
          g_string_append_c (cur, '%');
          c++;
          continue;
        }
      const char *s = c + 1;
      *zero = *s == '0';
      int w = 0;
      while (g_ascii_isdigit (*s) && w < 64)
        w = w * 10 + (*s++ - '0');
      if (*s != 'd' || w >= 64)
        return FALSE;
      *width = w;
      conversions++;
      cur = suffix;
      c = s;
    }
  return conversions == 1;
}

static char *
pattern_name (const GString *prefix, const GString *suffix, int width, gboolean zero, int n)
{
  return zero ? g_strdup_printf ("%s%0*d%s", prefix->str, width, n, suffix->str)
              : g_strdup_printf ("%s%*d%s", prefix->str, width, n, suffix->str);
}

static char **
list_pattern (const char *path, const GString *prefix, const GString *suffix, int width,
              gboolean zero, GError **error)
{
  int first = 0;
  g_autofree char *name0 = pattern_name (prefix, suffix, width, zero, 0);
  if (!g_file_test (name0, G_FILE_TEST_IS_REGULAR))
    first = 1;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  for (int n = first; n < G_MAXINT; n++)
    {
      char *name = pattern_name (prefix, suffix, width, zero, n);
      if (!g_file_test (name, G_FILE_TEST_IS_REGULAR))
        {
          g_free (name);
          break;
        }
      g_ptr_array_add (names, name);
    }
  if (names->len == 0)
    {
      g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_OPEN,
                   "%s: no file matches the pattern (numbered from 0 or 1)", path);
      return NULL;
    }
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
}

char **
sp_image_list (const char *path, GError **error)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    return list_directory (path, error);

  g_autoptr (GString) prefix = g_string_new (NULL);
  g_autoptr (GString) suffix = g_string_new (NULL);
  int width = 0;
  gboolean zero = FALSE;
  if (strchr (path, '%') != NULL && !g_file_test (path, G_FILE_TEST_EXISTS)
      && parse_pattern (path, prefix, suffix, &width, &zero))
    return list_pattern (path, prefix, suffix, width, zero, error);

  char **one = g_new0 (char *, 2);
  one[0] = g_strdup (path);
  return one;
}
