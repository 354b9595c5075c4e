#!/usr/bin/env bash
# Benign mail (swaks): messages of a few hundred bytes to a few hundred kilobytes (an attachment
# now and then) submitted to the victim's SMTP server, one SMTP session each, at office pace.
# shellcheck source=../lib/common.sh
. "$TB_LIB/common.sh"
attachment="$TB_STATE/mail-attachment-$TB_SEED.bin"
head -c 200000 /dev/urandom > "$attachment"
RANDOM=$(( TB_SEED * 100 + 70 ))
while [ "$(tb_left)" -gt 1 ]; do
  to="user$(( RANDOM % 20 ))@testbed.lan"
  body="Meeting notes $RANDOM: $(head -c $(( 200 + RANDOM % 3000 )) /dev/urandom | base64 -w 76)"
  if [ $(( RANDOM % 4 )) = 0 ]; then
    tb_run "$TB_NS" swaks --silent 2 --timeout 10 -s "$TB_VICTIM" -f alice@office.lan -t "$to" \
      --h-Subject "report $RANDOM" --body "$body" --attach "@$attachment" > /dev/null
  else
    tb_run "$TB_NS" swaks --silent 2 --timeout 10 -s "$TB_VICTIM" -f alice@office.lan -t "$to" \
      --h-Subject "re: notes $RANDOM" --body "$body" > /dev/null
  fi
  tb_pause 1000 6000
done
