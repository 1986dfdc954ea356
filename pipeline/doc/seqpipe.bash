# bash completion of seqpipe: verbs, their options, config files, and GROUP.KEY after
# --set (the key tables of the stages this seqpipe finds: `seqpipe inspect --keys`).
_seqpipe ()
{
  local cur prev verb
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD - 1]}
  verb=${COMP_WORDS[1]}
  local verbs="run train eval extract plugins inspect help"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "$verbs --help --version" -- "$cur"))
    return
  fi
  case "$prev" in
    --set)
      COMPREPLY=($(compgen -W "$(seqpipe inspect --keys 2>/dev/null | sed 's/$/=/')" -- "$cur"))
      compopt -o nospace 2>/dev/null
      return ;;
    -o|--output-dir|-p|--plugin-path)
      COMPREPLY=($(compgen -d -- "$cur"))
      return ;;
    --resume|--metrics-out|--progress)
      COMPREPLY=($(compgen -f -- "$cur"))
      return ;;
    -j|--jobs|--shard)
      return ;;
  esac
  local opts
  case "$verb" in
    run) opts="--set -o --output-dir -j --jobs --shard --skip-existing --progress -q -v --help" ;;
    train) opts="--set --resume -q -v --help" ;;
    eval) opts="--set --metrics-out -q -v --help" ;;
    extract) opts="--set --shard -q -v --help" ;;
    plugins) opts="-p --plugin-path -q -v --help" ;;
    inspect) opts="-p --plugin-path --keys -q -v --help" ;;
    help) COMPREPLY=($(compgen -W "$verbs" -- "$cur")); return ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  elif [ "$verb" = inspect ]; then
    COMPREPLY=($(compgen -W "$(seqpipe plugins -q 2>/dev/null | awk 'NR > 1 {print $1}') pipeline decoder extractor model head train sink" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -X '!*.ini' -- "$cur") $(compgen -d -- "$cur"))
    [ "$verb" = run ] && COMPREPLY+=($(compgen -f -- "$cur"))
  fi
}
complete -F _seqpipe seqpipe
