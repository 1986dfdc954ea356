#!/bin/sh
# install.sh — an installed seqpipe builds and loads an out-of-tree plugin:
# `meson install` into a temporary DESTDIR, `cc $(pkg-config --cflags seqpipe) -shared`
# a small decoder and two sinks against the installed header, and check that
# `seqpipe plugins` finds them through SEQPIPE_PLUGIN_PATH, that a run goes through
# them, that a sink declaring per-frame records gets exactly the labeler's frames and
# one declaring per-input records is refused for a labeler run, and that a test
# program built with `pkg-config seqpipe-check` drives the decoder by hand.
# Needs SP_BUILD_ROOT (the build tree); uses meson, pkg-config and cc from PATH.
set -u
fails=0
n=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
bail () { echo "Bail out! $1"; exit 1; }

dest="$tmp/dest"
${MESON:-meson} install -C "$SP_BUILD_ROOT" --no-rebuild --quiet --destdir "$dest" \
  >"$tmp/install.log" 2>&1 || { sed 's/^/# /' "$tmp/install.log"; bail "meson install failed"; }
ok "meson install into DESTDIR"

pc=$(find "$dest" -name seqpipe.pc | head -n 1)
[ -n "$pc" ] || bail "no seqpipe.pc installed"
ok "seqpipe.pc installed"
# the .pc names the final prefix; point a copy at DESTDIR (--define-variable would
# move glib's prefix too)
prefix=$(sed -n 's/^prefix=//p' "$pc")
mkdir -p "$tmp/pc"
sed "s#^prefix=.*#prefix=$dest$prefix#" "$pc" >"$tmp/pc/seqpipe.pc"
PKG_CONFIG_PATH="$tmp/pc"
export PKG_CONFIG_PATH
pcfg () { pkg-config "$@" seqpipe; }
plugindir=$(pcfg --variable=plugindir)
case "$plugindir" in */seqpipe-1) ok "plugindir is $plugindir" ;; *) not_ok "plugindir $plugindir" ;; esac
[ -f "$(pcfg --variable=includedir)/seqpipe/plugin.h" ] && ok "header installed" \
  || not_ok "no seqpipe/plugin.h under includedir"
bin="$dest$prefix/bin/seqpipe"
[ -x "$bin" ] || bail "no installed binary at $bin"
LD_LIBRARY_PATH="$(pcfg --variable=libdir)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export LD_LIBRARY_PATH

mkdir -p "$tmp/plug" "$tmp/run"
cat >"$tmp/oot.c" <<'EOT'
/* a decoder of *.oot files: `frames` frames of `dim` features each */
#include <seqpipe/plugin.h>
#include <stdio.h>

typedef struct { gint64 frames, dim, next; } Oot;

static const SpKey oot_keys[] = {
  { "frames", SP_KEY_INT, offsetof (Oot, frames), "4", 1, 100, NULL, "frames" },
  { "dim", SP_KEY_INT, offsetof (Oot, dim), "3", 1, 16, NULL, "features per frame" },
  SP_KEY_END
};

static gboolean oot_init (SpStage *st, GError **error)
{
  Oot *o = st->priv;
  (void) error;
  sp_stage_set_feature_dim (st, (int) o->dim);
  sp_stage_set_expected_frames (st, o->frames);
  return TRUE;
}

static SpDecodeStatus oot_decode (SpStage *st, SpFrame *frame, GError **error)
{
  Oot *o = st->priv;
  (void) error;
  if (o->next >= o->frames)
    return SP_DECODE_EOF;
  frame->index = o->next;
  frame->time = (double) o->next;
  for (int i = 0; i < (int) o->dim; i++)
    frame->features[i] = (float) (o->next * 10 + i);
  frame->feature_dim = (int) o->dim;
  o->next++;
  return SP_DECODE_FRAME;
}

static void oot_finalize (SpStage *st) { (void) st; }

static const char *const oot_ext[] = { "oot", NULL };
static const SpStageClass oot_dec = {
  .name = "oot-dec", .kind = SP_STAGE_DECODER, .description = "an out-of-tree decoder",
  .keys = oot_keys, .priv_size = sizeof (Oot), .extensions = oot_ext,
  .init = oot_init, .decode = oot_decode, .finalize = oot_finalize,
};

/* two sinks: `oot-frames` takes the labeler's per-frame records and writes
 * frame,label lines; `oot-inputs` takes per-input records only */
typedef struct { FILE *out; } Lines;

static gboolean lines_init (SpStage *st, GError **error)
{
  Lines *l = st->priv;
  l->out = fopen (st->output_path, "w");
  if (l->out == NULL) {
    g_set_error (error, SP_PLUGIN_ERROR, SP_PLUGIN_ERROR_IO, "%s: cannot open", st->output_path);
    return FALSE;
  }
  return TRUE;
}

static gboolean lines_write (SpStage *st, const SpRecord *r, GError **error)
{
  Lines *l = st->priv;
  (void) error;
  if (r->frame == NULL || r->label < 0 || r->label >= st->n_labels)
    fprintf (l->out, "unexpected record\n");
  else
    fprintf (l->out, "%" G_GINT64_FORMAT ",%s\n", r->frame->index, st->labels[r->label]);
  return TRUE;
}

static gboolean lines_flush (SpStage *st, GError **error)
{
  Lines *l = st->priv;
  (void) error;
  return fflush (l->out) == 0;
}

static void lines_finalize (SpStage *st)
{
  Lines *l = st->priv;
  if (l->out != NULL)
    fclose (l->out);
}

static const SpStageClass oot_frames = {
  .name = "oot-frames", .kind = SP_STAGE_SINK, .description = "the labeler's frames",
  .priv_size = sizeof (Lines), .init = lines_init, .write = lines_write,
  .flush = lines_flush, .finalize = lines_finalize, .can_combine = TRUE,
  .takes = SP_RECORDS_FRAME,
};

static const SpStageClass oot_inputs = {
  .name = "oot-inputs", .kind = SP_STAGE_SINK, .description = "per-input records",
  .priv_size = sizeof (Lines), .init = lines_init, .write = lines_write,
  .flush = lines_flush, .finalize = lines_finalize, .can_combine = TRUE,
  .takes = SP_RECORDS_INPUT,
};

SP_PLUGIN_DEFINE ("oot", "9.9.9", "built out of tree", "MIT", &oot_dec, &oot_frames,
                  &oot_inputs);
EOT
# shellcheck disable=SC2046
if cc -std=c11 -Wall -Wextra -Werror -fPIC -shared $(pcfg --cflags) -o "$tmp/plug/oot.so" \
     "$tmp/oot.c" 2>"$tmp/cc.log"; then
  ok "plugin builds with pkg-config --cflags seqpipe"
else
  sed 's/^/# /' "$tmp/cc.log"; bail "the out-of-tree plugin does not build"
fi

SEQPIPE_PLUGIN_PATH="$tmp/plug:$plugindir"
export SEQPIPE_PLUGIN_PATH
if "$bin" plugins >"$tmp/plugins.txt" 2>&1; then ok "installed seqpipe plugins"; else
  not_ok "installed seqpipe plugins failed"; fi
if grep -q "^oot-dec .*decoder .*9\.9\.9 .*$tmp/plug/oot.so" "$tmp/plugins.txt"; then
  ok "seqpipe plugins lists the out-of-tree decoder"
else
  not_ok "seqpipe plugins does not list oot-dec"; sed 's/^/# /' "$tmp/plugins.txt"
fi
if "$bin" inspect oot-dec | grep -q "dim .*int .*3 .*\[1, 16\]"; then
  ok "seqpipe inspect shows its keys"
else
  not_ok "seqpipe inspect oot-dec"
fi

# the man page and the bash completion, whose --set list comes from the key tables
man=$(find "$dest" -name seqpipe.1 | head -n 1)
[ -n "$man" ] && ok "man page installed" || not_ok "no seqpipe.1 installed"
if [ -n "$man" ] && command -v man >/dev/null 2>&1; then
  MANWIDTH=80 man -l "$man" 2>/dev/null | grep -q "EXIT STATUS" && ok "man renders the page" \
    || not_ok "man -l seqpipe.1"
fi
comp=$(find "$dest" -path '*bash-completion/completions/seqpipe' | head -n 1)
if [ -n "$comp" ]; then
  ok "bash completion installed"
  got=$(PATH="$(dirname "$bin"):$PATH" bash -c '. "$1"; COMP_WORDS=(seqpipe run c.ini --set decoder.f); COMP_CWORD=4; _seqpipe; printf "%s\n" "${COMPREPLY[@]}"' _ "$comp")
  case "$got" in *decoder.fps=*) ok "completion offers decoder.fps= after --set" ;;
    *) not_ok "completion after --set decoder.f offered: $got" ;; esac
  got=$(bash -c '. "$1"; COMP_WORDS=(seqpipe ex); COMP_CWORD=1; _seqpipe; printf "%s\n" "${COMPREPLY[@]}"' _ "$comp")
  [ "$got" = extract ] && ok "completion of a verb" || not_ok "completion of ex: $got"
else
  not_ok "no bash completion installed"
fi

# a run through it
if grep -q "^npy .*sink" "$tmp/plugins.txt"; then
  : >"$tmp/run/a.oot"
  cat >"$tmp/run/c.ini" <<EOT
[pipeline]
inputs = a.oot
output-dir = out
[decoder]
dim = 5
[sink:npy]
path = {stem}.npy
EOT
  if (cd "$tmp/run" && "$bin" run -q c.ini) >"$tmp/run.log" 2>&1 && [ -f "$tmp/run/out/a.npy" ]; then
    ok "seqpipe run goes through the out-of-tree decoder"
    size=$(wc -c <"$tmp/run/out/a.npy")
    [ "$size" -ge $((4 * 5 * 4)) ] && ok "a.npy holds 4 x 5 floats ($size bytes)" \
      || not_ok "a.npy is $size bytes"
  else
    not_ok "seqpipe run with the out-of-tree decoder"; sed 's/^/# /' "$tmp/run.log"
  fi
else
  not_ok "the npy sink is not installed"
fi

# a labeler trained on the out-of-tree features, then run with the two sinks
mkdir -p "$tmp/lab"
: >"$tmp/lab/a.oot"
printf 'a\nb\na\nb\n' >"$tmp/lab/a.txt"
printf 'path,labels\na.oot,a.txt\n' >"$tmp/lab/train.csv"
cat >"$tmp/lab/t.ini" <<EOT
[pipeline]
inputs = a.oot
output-dir = out
[decoder]
dim = 5
[model]
hidden = 4
checkpoint = m.safetensors
[head]
plugin = labeler
[train]
manifest = train.csv
epochs = 1
cache-dir = cache
[sink:frames]
plugin = oot-frames
path = {stem}.frames.txt
EOT
if (cd "$tmp/lab" && "$bin" train -q t.ini && "$bin" run -q t.ini) >"$tmp/lab.log" 2>&1; then
  got=$(cat "$tmp/lab/out/a.frames.txt" 2>/dev/null)
  if [ "$(printf '%s\n' "$got" | wc -l)" -eq 4 ] \
     && printf '%s\n' "$got" | grep -qvx '[0-3],[ab]' ; then
    not_ok "oot-frames got other records: $got"
  elif [ "$(printf '%s\n' "$got" | cut -d, -f1 | tr '\n' ' ')" = "0 1 2 3 " ]; then
    ok "a sink taking per-frame records gets exactly the labeler's 4 frames"
  else
    not_ok "oot-frames wrote: $got"
  fi
else
  not_ok "train and run a labeler with the out-of-tree sink"; sed 's/^/# /' "$tmp/lab.log"
fi
if (cd "$tmp/lab" && "$bin" run -q t.ini --set sink:frames.plugin=oot-inputs) >"$tmp/lab2.log" 2>&1; then
  not_ok "a per-input sink was accepted for a labeler run"
else
  grep -q "\[sink:frames\] plugin: the oot-inputs sink takes one record per input, but the labeler head gives one record per frame" "$tmp/lab2.log" \
    && ok "a sink taking per-input records is refused for a labeler run" \
    || { not_ok "the refusal does not say why"; sed 's/^/# /' "$tmp/lab2.log"; }
fi

# a stage test built out of tree with <seqpipe/check.h>
sed "s#^prefix=.*#prefix=$dest$prefix#" "$(dirname "$pc")/seqpipe-check.pc" >"$tmp/pc/seqpipe-check.pc"
cat >"$tmp/check.c" <<'EOT'
#include <seqpipe/check.h>
#include <stdio.h>

int
main (int argc, char **argv)
{
  const char *keys[] = { "frames=2", "dim=3", NULL };
  SpInputInfo in = { "x.oot", "x.oot", "x", 0, 0, -1 };
  GError *error = NULL;
  SpHarness *h = sp_harness_new (argv[1], "oot-dec", keys, &in, NULL, &error);
  int n = 0;
  (void) argc;
  if (h == NULL || !sp_harness_init (h, &error))
    return printf ("%s\n", error->message), 1;
  for (;;) {
    SpFrame *f = sp_harness_frame (h);
    SpDecodeStatus s = sp_harness_decode (h, f, &error);
    if (s == SP_DECODE_EOF)
      break;
    if (s != SP_DECODE_FRAME || f->features[2] != (float) (n * 10 + 2))
      return 1;
    n++;
  }
  sp_harness_free (h);
  return n == 2 ? 0 : 1;
}
EOT
# a library built with sanitizers wants its runtime first in the program too
san=
ldd "$(pkg-config --variable=libdir seqpipe-check)/libseqpipe-check.so" 2>/dev/null \
  | grep -q libasan && san="-fsanitize=address,undefined"
# shellcheck disable=SC2046
if cc -std=c11 -Wall -Wextra -Werror $san -o "$tmp/check" "$tmp/check.c" \
     $(pkg-config --cflags --libs seqpipe-check) 2>"$tmp/cc2.log" \
   && "$tmp/check" "$tmp/plug" >"$tmp/check.log" 2>&1; then
  ok "a stage test built with pkg-config seqpipe-check drives the plugin"
else
  not_ok "the out-of-tree stage test"; sed 's/^/# /' "$tmp/cc2.log" "$tmp/check.log"
fi

echo "1..$n"
[ "$fails" -eq 0 ]
