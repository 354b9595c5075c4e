#!/usr/bin/env bash
# Benign file-share use (smbclient, SMB3): an office user opening the share now and then — a listing,
# a document read, a document saved back, once in a while the large archive — one SMB session each,
# with the think time of someone working between them.
# shellcheck source=../lib/common.sh
. "$TB_LIB/common.sh"
RANDOM=$(( TB_SEED * 100 + 80 ))
share="//$TB_VICTIM/share"
auth="$TB_USER%$TB_PASS"
draft="$TB_STATE/smb-draft-$TB_SEED.docx"
head -c 40000 /dev/urandom > "$draft"
docs=(budget.xlsx minutes.docx slides.pptx)
while [ "$(tb_left)" -gt 2 ]; do
  doc=${docs[RANDOM % ${#docs[@]}]}
  case $(( RANDOM % 6 )) in
    0|1) cmd="cd docs; ls" ;;
    2|3) cmd="cd docs; ls; get $doc /dev/null" ;;
    4) cmd="cd docs; put $draft draft-$RANDOM.docx; ls" ;;
    5) cmd="cd docs; get archive.zip /dev/null" ;;
  esac
  tb_run "$TB_NS" smbclient "$share" -U "$auth" -m SMB3 -t 20 -c "$cmd" > /dev/null 2>&1
  tb_pause 1500 8000
done
