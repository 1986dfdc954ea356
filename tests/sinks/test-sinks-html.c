/* test-sinks-html.c — the html sink's page in a real browser: headless Chromium loads
 * the page with a probe script appended (the page leaves body open for parts, so a
 * script after it is still in the body), which waits for the video and its track,
 * reads the cues and the segment list, clicks a segment, and writes what it saw into
 * the DOM that --dump-dom prints.  A second run takes a screenshot, kept under the
 * build directory.  The video is made with ffmpeg at test time (VP8 in WebM). */
#include "helpers.h"

#include <glib/gstdio.h>
#include <string.h>

#include "spm-json.h"

#define CHROMIUM "/usr/bin/chromium"

static const char probe[] =
  "<script>(async function () {\n"
  "  const r = {};\n"
  "  try {\n"
  "    const v = document.querySelector('video');\n"
  "    const tr = v.textTracks[0];\n"
  "    tr.mode = 'hidden';\n"
  "    await new Promise(function (ok) {\n"
  "      if (v.readyState >= 1) ok(); else v.addEventListener('loadedmetadata', ok);\n"
  "    });\n"
  "    for (let i = 0; i < 200 && !(tr.cues && tr.cues.length); i++)\n"
  "      await new Promise(function (ok) { setTimeout(ok, 25); });\n"
  "    r.kind = tr.kind;\n"
  "    r.cues = tr.cues ? tr.cues.length : -1;\n"
  "    r.first = [tr.cues[0].startTime, tr.cues[0].endTime, tr.cues[0].text];\n"
  "    r.items = Array.from(document.querySelectorAll('ol.segments li'), function (li) {\n"
  "      return [parseFloat(li.dataset.start), li.dataset.label]; });\n"
  "    r.rects = document.querySelectorAll('svg.band rect').length;\n"
  "    r.duration = v.duration;\n"
  "    const seeked = new Promise(function (ok) { v.addEventListener('seeked', ok); });\n"
  "    document.querySelectorAll('ol.segments li')[2].click();\n"
  "    await seeked;\n"
  "    r.time = v.currentTime;\n"
  "    r.external = Array.from(document.querySelectorAll('[src],[href]'), function (e) {\n"
  "      return e.getAttribute('src') || e.getAttribute('href'); }).filter(function (u) {\n"
  "      return /^(https?:)?\\/\\//.test(u); }).length;\n"
  "  } catch (e) { r.error = String(e); }\n"
  "  const out = document.createElement('pre');\n"
  "  out.id = 'result';\n"
  "  out.textContent = JSON.stringify(r);\n"
  "  document.body.appendChild(out);\n"
  "})();</script>\n";

/* the browser's profile: a directory tree, removed with everything in it */
typedef char Profile;

static void
remove_tree (const char *path)
{
  GDir *d = g_dir_open (path, 0, NULL);
  const char *name;
  while (d != NULL && (name = g_dir_read_name (d)) != NULL) {
    g_autofree char *child = g_build_filename (path, name, NULL);
    if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
      remove_tree (child);
    else
      g_remove (child);
  }
  if (d != NULL)
    g_dir_close (d);
  g_rmdir (path);
}

static void
profile_free (Profile *p)
{
  if (p != NULL)
    remove_tree (p);
  g_free (p);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Profile, profile_free)

static char *
chromium (const char *profile, const char *const *extra, const char *url)
{
  GPtrArray *argv = g_ptr_array_new ();
  g_autofree char *user_dir = g_strdup_printf ("--user-data-dir=%s", profile);
  const char *base[] = { CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                         "--disable-quic", "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync",
                         "--autoplay-policy=no-user-gesture-required", "--mute-audio",
                         "--virtual-time-budget=8000", user_dir, NULL };
  for (int i = 0; base[i]; i++)
    g_ptr_array_add (argv, (char *) base[i]);
  for (int i = 0; extra[i]; i++)
    g_ptr_array_add (argv, (char *) extra[i]);
  g_ptr_array_add (argv, (char *) url);
  g_ptr_array_add (argv, NULL);
  char *out = NULL, *err = NULL;
  int status = 0;
  GError *error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &out, &err, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_test_message ("chromium: %s", err);
  g_free (err);
  g_ptr_array_free (argv, TRUE);
  return out;
}

static void
test_html_browser (void)
{
  if (!g_file_test (CHROMIUM, G_FILE_TEST_IS_EXECUTABLE)) {
    g_test_fail_printf ("%s is missing: install chromium (tests/install-deps.sh)", CHROMIUM);
    return;
  }
  g_autoptr (TestDir) dir = test_dir_new ();
  g_autoptr (Profile) profile = g_dir_make_tmp ("seqpipe-chromium-XXXXXX", NULL);
  g_assert_nonnull (profile);
  g_autofree char *video = g_build_filename (dir, "clip.webm", NULL);
  g_autofree char *page = g_build_filename (dir, "clip.html", NULL);
  g_autofree char *probed = g_build_filename (dir, "probe.html", NULL);
  g_autofree char *make = g_strdup_printf ("ffmpeg -nostdin -v error -y -f lavfi -i "
                                           "testsrc2=size=160x120:rate=10:duration=1 "
                                           "-c:v libvpx -b:v 300k '%s'", video);
  int status = 1;
  g_assert_true (g_spawn_command_line_sync (make, NULL, NULL, &status, NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));

  /* the labeler's test sequence, written for the video */
  {
    GError *error = NULL;
    SpInputInfo in = { .path = video, .name = "clip.webm", .stem = "clip", .end = -1 };
    SpDecoderParams dec = { TEST_FPS, 16, 12, 0 };
    g_autoptr (SpHarness) h = sp_harness_new (SP_SINKS_DIR, "html", NULL, &in, &dec, &error);
    g_assert_no_error (error);
    sp_harness_set_labels (h, test_labels, N_TEST_LABELS);
    sp_harness_set_feature_dim (h, TEST_D);
    sp_harness_set_output (h, page, FALSE);
    sp_harness_set_records (h, SP_RECORDS_FRAME);
    g_assert_true (sp_harness_init (h, &error));
    g_assert_no_error (error);
    feed_labeler (h, FALSE);
    sink_flush_ok (h);
  }
  g_autofree char *html = read_file (page, NULL);
  g_assert_true (g_str_has_prefix (html, "<!DOCTYPE html>"));
  g_assert_nonnull (strstr (html, "src=\"clip.webm\""));
  g_autofree char *with_probe = g_strconcat (html, probe, NULL);
  g_assert_true (g_file_set_contents (probed, with_probe, -1, NULL));

  g_autofree char *url = g_filename_to_uri (probed, NULL, NULL);
  g_autofree char *dom = chromium (profile, (const char *[]) { "--dump-dom", NULL }, url);
  g_assert_nonnull (dom);
  const char *at = strstr (dom, "<pre id=\"result\">");
  g_assert_nonnull (at);
  at += strlen ("<pre id=\"result\">");
  const char *end = strstr (at, "</pre>");
  g_assert_nonnull (end);
  /* text content as serialised: & < > are the only references */
  g_autofree char *raw = g_strndup (at, end - at);
  GString *json = g_string_new (NULL);
  for (const char *c = raw; *c; c++) {
    if (g_str_has_prefix (c, "&amp;")) { g_string_append_c (json, '&'); c += 4; }
    else if (g_str_has_prefix (c, "&lt;")) { g_string_append_c (json, '<'); c += 3; }
    else if (g_str_has_prefix (c, "&gt;")) { g_string_append_c (json, '>'); c += 3; }
    else g_string_append_c (json, *c);
  }
  g_test_message ("browser: %s", json->str);
  GError *error = NULL;
  g_autoptr (SpmJson) r = spm_json_parse (json->str, json->len, "dom", &error);
  g_string_free (json, TRUE);
  g_assert_no_error (error);
  g_assert_null (spm_json_get (r, "error"));
  g_assert_cmpstr (spm_json_get (r, "kind")->string, ==, "subtitles");
  /* the cues of the segments: walk [0, 0.3), run, sit, down, say "hi", walk */
  g_assert_cmpint ((int) spm_json_get (r, "cues")->number, ==, 5);
  const SpmJson *first = spm_json_get (r, "first");
  g_assert_cmpfloat_with_epsilon (first->items[0]->number, 0.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (first->items[1]->number, 0.3, 1e-6);
  g_assert_cmpstr (first->items[2]->string, ==, "walk");
  const SpmJson *items = spm_json_get (r, "items");
  static const double starts[] = { 0.0, 0.3, 0.5, 0.8, 0.9 };
  static const int labels[] = { 0, 1, 2, 3, 0 };
  g_assert_cmpint (items->n, ==, 5);
  for (int i = 0; i < 5; i++) {
    g_assert_cmpfloat_with_epsilon (items->items[i]->items[0]->number, starts[i], 1e-6);
    g_assert_cmpstr (items->items[i]->items[1]->string, ==, test_labels[labels[i]]);
  }
  g_assert_cmpint ((int) spm_json_get (r, "rects")->number, ==, 5);
  g_assert_cmpfloat_with_epsilon (spm_json_get (r, "duration")->number, 1.0, 0.05);
  /* the third segment was clicked: the video is at its start */
  g_assert_cmpfloat_with_epsilon (spm_json_get (r, "time")->number, 0.5, 1e-3);
  g_assert_cmpint ((int) spm_json_get (r, "external")->number, ==, 0);

  /* the page as a reviewer sees it, kept as an artifact */
  g_autofree char *shot = g_build_filename (SP_ARTIFACT_DIR, "html-review.png", NULL);
  g_autofree char *shot_arg = g_strdup_printf ("--screenshot=%s", shot);
  g_autofree char *page_url = g_filename_to_uri (page, NULL, NULL);
  g_remove (shot);
  g_free (chromium (profile, (const char *[]) { shot_arg, "--window-size=900,800", NULL },
                    page_url));
  g_assert_true (g_file_test (shot, G_FILE_TEST_IS_REGULAR));
  g_print ("# screenshot: %s\n", shot);
}

/* a classifier's and a captioner's page: one row per input, the parts of two inputs
 * joined as the host joins them (the second part without its header line) */
static void
test_html_rows (void)
{
  g_autoptr (TestDir) dir = test_dir_new ();
  g_autofree char *a = g_build_filename (dir, "a.part", NULL);
  g_autofree char *b = g_build_filename (dir, "b.part", NULL);
  {
    g_autoptr (SpHarness) h = sink_new ("html", NULL, "classifier", a, TRUE);
    feed_per_input (h, 2, NULL);
    sink_flush_ok (h);
  }
  {
    g_autoptr (SpHarness) h = sink_new ("html", NULL, "captioner", b, TRUE);
    feed_per_input (h, -1, "a <b> & \"c\"");
    sink_flush_ok (h);
  }
  g_auto (GStrv) la = read_lines (a);
  g_auto (GStrv) lb = read_lines (b);
  g_assert_cmpuint (g_strv_length (la), ==, 2);
  g_assert_cmpuint (g_strv_length (lb), ==, 2);
  g_assert_cmpstr (la[0], ==, lb[0]);
  g_assert_true (g_str_has_prefix (la[0], "<!DOCTYPE html>"));
  g_assert_true (g_str_has_prefix (la[1], "<p class=\"row\"><a href=\"../"));
  g_assert_true (g_str_has_suffix (la[1], "/clips/a%20b.mp4\">clips/a b.mp4</a><b>sit, down</b>"
                                   "<span class=\"score\">0.700000</span></p>"));
  g_assert_nonnull (strstr (lb[1], "<b>a &lt;b&gt; &amp; &quot;c&quot;</b>"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sinks/html/browser", test_html_browser);
  g_test_add_func ("/sinks/html/rows", test_html_rows);
  return g_test_run ();
}
