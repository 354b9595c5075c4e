#!/usr/bin/env bash
# Benign DNS lookups (dig) against the victim's dnsmasq: known names, a TXT record, unknown names;
# one lookup in six over TCP (as resolvers do for large answers and zone checks).
# shellcheck source=../lib/common.sh
. "$TB_LIB/common.sh"
names=(www.testbed.lan ftp.testbed.lan ssh.testbed.lan mail.testbed.lan nosuch.testbed.lan)
while [ "$(tb_left)" -gt 1 ]; do
  case $(( RANDOM % 6 )) in
    5) tb_run "$TB_NS" dig +tries=1 +time=2 +short @"$TB_VICTIM" TXT testbed.lan > /dev/null ;;
    4) tb_run "$TB_NS" dig +tcp +tries=1 +time=2 +short @"$TB_VICTIM" "${names[RANDOM % ${#names[@]}]}" > /dev/null ;;
    *) tb_run "$TB_NS" dig +tries=1 +time=2 +short @"$TB_VICTIM" "${names[RANDOM % ${#names[@]}]}" > /dev/null ;;
  esac
  tb_pause 100 1500
done
