/* test-registry.c — the registry loads good plugins and refuses each bad one with
 * its file and reason (tests/pipeline/fake/).  Only isolated registries here: the
 * search path ($SEQPIPE_PLUGIN_PATH, --plugin-path, the build tree) is tested through
 * the binary in cli.sh, which keeps the real plugins' libraries out of this process. */
#include "host-registry.h"
#include "host-errors.h"

#include <glib/gstdio.h>
#include <string.h>

static const char *fake_dir;

static const struct {
  const char *file;
  const char *reason;
} refusals[] = {
  { "refused-no-symbol.so", "not a plugin (no seqpipe_plugin_descriptor symbol)" },
  { "refused-abi-major.so", "built for ABI 2.0; this seqpipe loads ABI major 1 only" },
  { "refused-abi-minor.so", "which is newer than 1." },
  { "refused-no-name.so", "descriptor has no name" },
  { "refused-no-stages.so", "descriptor has no stages" },
  { "refused-bad-name.so", "stage name 'Bad_Name' is not [a-z0-9-]+" },
  { "refused-bad-kind.so", "unknown kind 9" },
  { "refused-missing-function.so", "missing function decode" },
  { "refused-duplicate.so", "duplicate stage name 'fake-dec' (a decoder already provided by " },
  { "refused-bad-key-range.so", "bad key table: key 'n' default: value \"100\" is out of range" },
  { "refused-bad-key-offset.so", "key 'n' lies outside priv_size" },
  { "refused-bad-key-name.so", "key name 'Bad_Key' is not [a-z0-9-]+" },
  { "refused-bad-key-type.so", "key 'n' has unknown type 42" },
  { "refused-bad-key-reserved.so", "key 'fps' is the host's" },
  { "refused-bad-key-choice.so", "value \"z\" is not a valid choice" },
  { "refused-head-no-records.so", "head 'fake-refused': records 0x0 is not one of" },
  { "refused-head-abi-1-1.so", "is built for ABI 1.1 and does not declare its records" },
  { "refused-sink-no-takes.so", "sink 'fake-refused': takes 0x0 is not a set of" },
  { "refused-sink-frames-no-fn.so", "missing function frame (it takes SP_TAKES_FRAMES)" },
};

static SpRegistry *
fake_registry (void)
{
  const char *dirs[] = { fake_dir, NULL };
  return sp_registry_new_isolated (dirs);
}

static void
test_good (void)
{
  g_autoptr (SpRegistry) r = fake_registry ();
  const char *names[] = { "fake-dec", "fake-ext", "fake-head", "fake-sink", "fake-strict" };
  const SpStageKind kinds[] = { SP_STAGE_DECODER, SP_STAGE_EXTRACTOR, SP_STAGE_HEAD,
                                SP_STAGE_SINK };
  int n = 0;
  const SpRegistryStage *stages = sp_registry_stages (r, &n);
  g_assert_cmpint (n, ==, 5);
  g_assert_cmpstr (stages[4].klass->name, ==, names[4]);
  for (int i = 0; i < 4; i++) {
    g_assert_cmpstr (stages[i].klass->name, ==, names[i]);
    g_assert_cmpstr (stages[i].plugin->version, ==, "1.2.3");
    g_assert_true (g_str_has_suffix (stages[i].file, "/good.so"));
    g_assert_true (sp_registry_find (r, names[i], kinds[i]) == stages[i].klass);
    /* the same name with another kind is not found */
    g_assert_null (sp_registry_find (r, names[i], kinds[(i + 1) % 4]));
  }
  g_assert_null (sp_registry_find (r, "nope", SP_STAGE_DECODER));
  g_assert_nonnull (sp_registry_lookup (r, "fake-sink"));
}

static void
test_refusals (void)
{
  g_autoptr (SpRegistry) r = fake_registry ();
  int n = 0;
  const SpRegistryRefusal *got = sp_registry_refusals (r, &n);
  g_assert_cmpint (n, ==, (int) G_N_ELEMENTS (refusals));
  for (gsize i = 0; i < G_N_ELEMENTS (refusals); i++) {
    const SpRegistryRefusal *found = NULL;
    for (int j = 0; j < n; j++)
      if (g_str_has_suffix (got[j].file, refusals[i].file))
        found = &got[j];
    if (!found)
      g_error ("%s was not refused", refusals[i].file);
    if (!strstr (found->reason, refusals[i].reason))
      g_error ("%s: reason \"%s\" lacks \"%s\"", refusals[i].file, found->reason,
               refusals[i].reason);
  }
}

/* a file that is not a shared object at all, and a directory named .so */
static void
test_not_elf (void)
{
  g_autofree char *dir = g_dir_make_tmp ("sp-reg-XXXXXX", NULL);
  g_autofree char *junk = g_build_filename (dir, "junk.so", NULL);
  g_autofree char *sub = g_build_filename (dir, "dir.so", NULL);
  g_assert_true (g_file_set_contents (junk, "not an ELF file", -1, NULL));
  g_assert_cmpint (g_mkdir (sub, 0700), ==, 0);
  const char *dirs[] = { dir, NULL };
  g_autoptr (SpRegistry) r = sp_registry_new_isolated (dirs);
  int n = 0;
  const SpRegistryRefusal *got = sp_registry_refusals (r, &n);
  g_assert_cmpint (n, ==, 1);
  g_assert_true (g_str_has_suffix (got[0].file, "junk.so"));
  g_assert_true (g_str_has_prefix (got[0].reason, "not a plugin ("));
  g_assert_cmpint (g_remove (junk), ==, 0);
  g_assert_cmpint (g_rmdir (sub), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* the same directory twice is scanned once: no self-duplicates */
static void
test_dir_twice (void)
{
  g_autofree char *with_slash = g_strconcat (fake_dir, "/", NULL);
  const char *dirs[] = { fake_dir, with_slash, NULL };
  g_autoptr (SpRegistry) r = sp_registry_new_isolated (dirs);
  int n = 0;
  sp_registry_stages (r, &n);
  g_assert_cmpint (n, ==, 5);
  sp_registry_refusals (r, &n);
  g_assert_cmpint (n, ==, (int) G_N_ELEMENTS (refusals));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  fake_dir = g_getenv ("SP_FAKE_PLUGIN_DIR");
  g_assert_nonnull (fake_dir);
  g_test_add_func ("/registry/good", test_good);
  g_test_add_func ("/registry/refusals", test_refusals);
  g_test_add_func ("/registry/not-elf", test_not_elf);
  g_test_add_func ("/registry/dir-twice", test_dir_twice);
  return g_test_run ();
}
