/* image-list.h — the files an `image` input names, in frame order. */
#ifndef SP_IMAGE_LIST_H
#define SP_IMAGE_LIST_H

#include <glib.h>

/* The image files of `path`, NULL-terminated, (transfer full):
 *  - a directory: its regular files with an image extension (not hidden ones),
 *    sorted naturally (img2 before img10);
 *  - a printf pattern with exactly one %d conversion (%d, %5d, %05d; %% is a literal
 *    '%'): the files numbered consecutively from 0, or from 1 when 0 is missing, up
 *    to the first missing number;
 *  - anything else: the file itself.
 * An empty directory or a pattern that matches nothing is an error naming path. */
char **sp_image_list (const char *path, GError **error);

/* strcmp, except that runs of digits compare by their numeric value */
int sp_natural_compare (const char *a, const char *b);

/* TRUE when name ends in an extension stb_image reads (case-insensitive) */
gboolean sp_image_has_extension (const char *name);

#endif
