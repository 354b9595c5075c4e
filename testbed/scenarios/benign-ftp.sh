#!/usr/bin/env bash
# Benign FTP transfers (curl): listings, downloads and uploads, passive mode and now and then active.
# shellcheck source=../lib/common.sh
. "$TB_LIB/common.sh"
base="ftp://$TB_VICTIM"
auth="$TB_USER:$TB_PASS"
head -c 300000 /dev/urandom > "$TB_STATE/upload.bin"
while [ "$(tb_left)" -gt 2 ]; do
  mode=(); (( RANDOM % 4 == 0 )) && mode=(--ftp-port -)
  case $(( RANDOM % 3 )) in
    0) tb_run "$TB_NS" curl -s -m 10 "${mode[@]}" -u "$auth" -o /dev/null "$base/pub/" ;;
    1) tb_run "$TB_NS" curl -s -m 10 "${mode[@]}" -u "$auth" -o /dev/null "$base/pub/report.txt" ;;
    2) tb_run "$TB_NS" curl -s -m 10 "${mode[@]}" -u "$auth" -T "$TB_STATE/upload.bin" "$base/upload-$RANDOM.bin" ;;
  esac
  tb_pause 500 3000
done
