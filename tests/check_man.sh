#!/bin/sh
# check_man.sh PROGRAM MANPAGE - every option (--name) and every command (a
# help line "  word [word]" of lowercase words) that PROGRAM --help prints is
# named in its man page source (roff escapes \- and \fX undone). A flag or a
# command added to a program without its man page fails the test. A help
# line's first column ends at two spaces.
prog=$1
page=$2
help=$("$prog" --help 2>&1) || { echo "$prog --help failed"; exit 1; }
text=$(sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$page") || exit 1
missing=0
for opt in $(printf '%s\n' "$help" | grep -o -- '--[a-z][a-z-]*' | sort -u); do
  case $opt in --*-) continue ;; esac # "--" cut at a line end
  if ! printf '%s\n' "$text" | grep -q -- "$opt"; then
    echo "$page: option $opt (in $prog --help) is not documented"
    missing=1
  fi
done
printf '%s\n' "$help" | grep -E '^  [a-z]' | sed -e 's/^  //' -e 's/  .*//' |
while read -r w1 w2 _; do
  cmd=$w1 # the command's words: lowercase, before its arguments
  case $w2 in *[!a-z-]* | "") ;; *) cmd="$w1 $w2" ;; esac
  if ! printf '%s\n' "$text" | grep -qF -- "$cmd"; then
    echo "$page: command '$cmd' (in $prog --help) is not documented"
    exit 1
  fi
done || missing=1
[ $missing -eq 0 ] && echo "$page documents every option and command of $(basename "$prog") --help"
exit $missing
