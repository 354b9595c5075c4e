#!/usr/bin/env bash
# Start the victim's services inside its namespace, each with a configuration file written here into
# the run's state directory (nothing under /etc is read or changed except the packages' defaults that
# the daemons load themselves: mime types, fastcgi params, PAM).
#
#   nginx + php-fpm (the Testbed Shop: SQL-injectable product page, XSS-able search and guestbook,
#   login form; HTTP on 80, HTTPS with HTTP/2 on 443 with a self-signed certificate made here),
#   vsftpd, openssh, dnsmasq (authoritative for testbed.lan, no upstream; UDP and TCP), an SMTP
#   server (aiosmtpd, messages discarded), an NTP server (chronyd serving its local clock,
#   never adjusting the host's) and an SMB file share (smbd, SMB2/3 only, its own password database).
#
# Environment: TB_STATE (state dir), TB_WWW (web app sources), TB_VICTIM_NS, TB_VICTIM_IP, TB_USER,
# TB_PASS (the account's password, also the SMB password).
# Returns once every port answers; the daemons stay running until net.sh down kills the namespace.
set -euo pipefail
: "${TB_STATE:?}" "${TB_WWW:?}" "${TB_VICTIM_NS:?}" "${TB_VICTIM_IP:?}" "${TB_USER:?}" "${TB_PASS:?}"
S=$TB_STATE
ip=$TB_VICTIM_IP
in_vic() { ip netns exec "$TB_VICTIM_NS" "$@"; }
start() {  # start NAME CMD...: a daemon in the victim namespace, in its own session, logging to S/NAME.log
  local name=$1; shift
  setsid ip netns exec "$TB_VICTIM_NS" "$@" >"$S/$name.log" 2>&1 < /dev/null &
}

mkdir -p "$S/www/files" "$S/nginx" "$S/vsftpd-empty"
chmod 755 "$S" "$S/www" "$S/www/files"

# --- web app and its database
cp "$TB_WWW"/*.php "$TB_WWW"/*.css "$TB_WWW"/*.html "$S/www/"
rm -f "$S/shop.db"
sqlite3 "$S/shop.db" < "$TB_WWW/schema.sql"
chown www-data: "$S/shop.db"
chown www-data: "$S"            # SQLite writes its journal next to the database
# Files for the benign downloads (random bytes: no compression anywhere, sizes are what flows carry).
head -c 500000  /dev/urandom > "$S/www/files/catalog.pdf"
head -c 2000000 /dev/urandom > "$S/www/files/manual.zip"
head -c 5000000 /dev/urandom > "$S/www/files/video.bin"
chmod -R a+rX "$S/www"

cat > "$S/php-fpm.conf" <<CONF
[global]
pid = $S/php-fpm.pid
error_log = $S/php-fpm-error.log
daemonize = no
[shop]
user = www-data
group = www-data
listen = $S/php.sock
listen.mode = 0666
pm = static
pm.max_children = 6
env[TB_DB] = $S/shop.db
php_admin_value[display_errors] = On
CONF
start php-fpm php-fpm8.2 -F -y "$S/php-fpm.conf"

# HTTPS: a certificate for www.testbed.lan, valid for the run only.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=www.testbed.lan -addext subjectAltName=DNS:www.testbed.lan \
  -keyout "$S/tls.key" -out "$S/tls.crt" 2>/dev/null

cat > "$S/nginx.conf" <<CONF
daemon off;
worker_processes 2;
pid $S/nginx.pid;
error_log $S/nginx-error.log warn;
events { worker_connections 8192; }
http {
  include /etc/nginx/mime.types;
  access_log off;
  keepalive_timeout 30s;
  client_header_timeout 30s;
  client_body_timeout 30s;
  server {
    listen $ip:80 backlog=4096;
    listen $ip:443 ssl http2 backlog=4096;
    ssl_certificate $S/tls.crt;
    ssl_certificate_key $S/tls.key;
    server_name www.testbed.lan;
    root $S/www;
    index index.php;
    location ~ \.php\$ {
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
      fastcgi_pass unix:$S/php.sock;
    }
  }
}
CONF
start nginx nginx -p "$S/nginx" -c "$S/nginx.conf" -e "$S/nginx-error.log"

cat > "$S/vsftpd.conf" <<CONF
listen=YES
listen_ipv6=NO
listen_address=$ip
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
pam_service_name=vsftpd
secure_chroot_dir=$S/vsftpd-empty
pasv_enable=YES
pasv_min_port=30000
pasv_max_port=30999
max_clients=500
max_per_ip=200
xferlog_enable=NO
seccomp_sandbox=NO
CONF
start vsftpd vsftpd "$S/vsftpd.conf"

ssh-keygen -q -t ed25519 -N '' -f "$S/ssh_host_ed25519_key"
mkdir -p /run/sshd
cat > "$S/sshd_config" <<CONF
ListenAddress $ip
HostKey $S/ssh_host_ed25519_key
PidFile $S/sshd.pid
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM yes
PermitRootLogin no
AllowUsers $TB_USER
MaxStartups 200:30:400
MaxAuthTries 6
LoginGraceTime 30
UseDNS no
Subsystem sftp /usr/lib/openssh/sftp-server
CONF
start sshd /usr/sbin/sshd -D -e -f "$S/sshd_config"

start dnsmasq dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
  --bind-interfaces --listen-address="$ip" --pid-file="$S/dnsmasq.pid" --local=/testbed.lan/ \
  --address=/www.testbed.lan/"$ip" --address=/ftp.testbed.lan/"$ip" --address=/ssh.testbed.lan/"$ip" \
  --address=/mail.testbed.lan/"$ip" --txt-record=testbed.lan,"ml-ids testbed" --cache-size=0

# Debian's aiosmtpd script: it runs on the system python3 the package installed into.
start smtpd /usr/bin/aiosmtpd -n -l "$ip:25" -c aiosmtpd.handlers.Sink

# chronyd drops to its own user: its pid and drift files live in a directory that user owns.
mkdir -p "$S/chrony"
chown _chrony: "$S/chrony"
cat > "$S/chrony.conf" <<CONF
pidfile $S/chrony/chronyd.pid
driftfile $S/chrony/chrony.drift
bindaddress $ip
port 123
cmdport 0
local stratum 8
allow all
CONF
# -x: serve time without ever adjusting the host's clock.
start chronyd chronyd -x -d -f "$S/chrony.conf"

# SMB: a standalone file server whose every directory and database lives under S/samba; the share
# holds office-sized files for the benign users to open, and they may write into it.
mkdir -p "$S"/samba/{private,lock,state,cache,run,ncalrpc,bind-dns} "$S/share/docs"
for f in budget.xlsx minutes.docx slides.pptx; do head -c $(( 20000 + RANDOM * 30 )) /dev/urandom > "$S/share/docs/$f"; done
head -c 3000000 /dev/urandom > "$S/share/docs/archive.zip"
chown -R "$TB_USER:" "$S/share"
cat > "$S/smb.conf" <<CONF
[global]
  netbios name = FILESRV
  workgroup = TESTBED
  server role = standalone server
  interfaces = $ip/24
  bind interfaces only = yes
  smb ports = 445
  disable netbios = yes
  server min protocol = SMB2
  map to guest = never
  passdb backend = tdbsam:$S/samba/private/passdb.tdb
  private dir = $S/samba/private
  lock directory = $S/samba/lock
  state directory = $S/samba/state
  cache directory = $S/samba/cache
  pid directory = $S/samba/run
  ncalrpc dir = $S/samba/ncalrpc
  binddns dir = $S/samba/bind-dns
  log file = $S/samba/log.%m
  logging = file
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes
[share]
  path = $S/share
  read only = no
  valid users = $TB_USER
CONF
printf '%s\n%s\n' "$TB_PASS" "$TB_PASS" | pdbedit -s "$S/smb.conf" -a -u "$TB_USER" -t > /dev/null
start smbd smbd -F --no-process-group --debug-stdout -s "$S/smb.conf"

# Wait (bounded) until every service answers.
for _ in $(seq 1 100); do
  listening=$(in_vic ss -Hltnu | awk '{print $5}')
  ok=1
  for port in 80 443 21 22 53 25 123 445; do grep -q ":$port\$" <<<"$listening" || ok=0; done
  if [ $ok = 1 ] && [ -S "$S/php.sock" ]; then
    echo "services up on $ip: http https ftp ssh dns smtp ntp smb"
    exit 0
  fi
  sleep 0.1
done
echo "services.sh: not every service came up; logs:" >&2
tail -n 5 "$S"/*.log >&2 || true
exit 1
