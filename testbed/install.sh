#!/usr/bin/env bash
# Install what `ml-ids testbed run` needs (Debian 12). Idempotent: safe to run again; installs only
# what is missing and never starts the packages' system services (the testbed starts its own daemons
# inside network namespaces, with its own configuration files).
set -euo pipefail

PACKAGES=(
  iproute2 ethtool tcpdump procps psmisc  # namespaces, bridge, offload settings, capture, process control
  nginx php-fpm php-sqlite3 sqlite3       # victim web server and the small vulnerable web app
  vsftpd openssh-server dnsmasq           # victim FTP, SSH and DNS
  openssl python3-aiosmtpd chrony         # victim HTTPS certificate, SMTP and NTP servers
  curl wget openssh-client sshpass dnsutils  # benign clients (browse/download, ssh/scp, ftp via curl, dig)
  swaks sntp                              # benign clients (mail, time)
  samba smbclient                         # victim SMB file share and its benign client
  hping3 nmap patator hydra slowhttptest sqlmap apache2-utils wrk   # attack tools
  tcpreplay                               # tcpreplay/tcpprep for replaying captures into namespaces
)
# The unprivileged account whose password the brute-force scenarios eventually guess.
TB_USER=mlids-tb
TB_PASS=sunshine1

if [ "$(id -u)" -ne 0 ]; then
  echo "testbed/install.sh: must run as root" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  # Keep the packages' services from starting on the host (no-op where a policy already exists).
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  trap '[ "$own_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "all testbed packages present"
fi

if ! id "$TB_USER" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/sh "$TB_USER"
  echo "created user $TB_USER"
fi
echo "$TB_USER:$TB_PASS" | chpasswd
# A home with files for the benign SSH/FTP sessions to list and fetch.
home=$(getent passwd "$TB_USER" | cut -d: -f6)
mkdir -p "$home/pub"
[ -s "$home/pub/report.txt" ] || seq 1 20000 > "$home/pub/report.txt"
chown -R "$TB_USER:" "$home"
mkdir -p /run/sshd
echo "testbed/install.sh: ok"
