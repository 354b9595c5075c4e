#!/usr/bin/env bash
# Benign SSH use (openssh client, password login via sshpass): short command sessions, a slow
# "interactive" session that prints now and then, and scp copies both ways.
# shellcheck source=../lib/common.sh
. "$TB_LIB/common.sh"
ssh_opts=(-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=5)
to="$TB_USER@$TB_VICTIM"
export SSHPASS=$TB_PASS
echo "notes from the benign user $RANDOM" > "$TB_STATE/notes.txt"
while [ "$(tb_left)" -gt 3 ]; do
  case $(( RANDOM % 4 )) in
    0) tb_run "$TB_NS" sshpass -e ssh "${ssh_opts[@]}" "$to" 'uptime; ls -l pub; df -h / | tail -1' > /dev/null ;;
    1) tb_run "$TB_NS" sshpass -e ssh "${ssh_opts[@]}" "$to" "for i in \$(seq $(( 2 + RANDOM % 6 ))); do date; sleep 1; done" > /dev/null ;;
    2) tb_run "$TB_NS" sshpass -e scp "${ssh_opts[@]}" "$to:pub/report.txt" "$TB_STATE/report-copy.txt" ;;
    3) tb_run "$TB_NS" sshpass -e scp "${ssh_opts[@]}" "$TB_STATE/notes.txt" "$to:notes-$RANDOM.txt" ;;
  esac
  tb_pause 500 3000
done
