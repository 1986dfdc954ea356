#!/bin/sh
# install.sh — an installed seqpipe builds and loads an out-of-tree plugin:
# `meson install` into a temporary DESTDIR, `cc $(pkg-config --cflags seqpipe) -shared`
# a small decoder against the installed header, and check that `seqpipe plugins`
# finds it through SEQPIPE_PLUGIN_PATH and that a run goes through it.
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

SP_PLUGIN_DEFINE ("oot", "9.9.9", "built out of tree", "MIT", &oot_dec);
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

# a run through it, when the run engine and the npy sink are installed
if "$bin" --help | grep -q "^  run " && grep -q "^npy .*sink" "$tmp/plugins.txt"; then
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
  ok "# SKIP run engine or npy sink not installed"
fi

echo "1..$n"
[ "$fails" -eq 0 ]
