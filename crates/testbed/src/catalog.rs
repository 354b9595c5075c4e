//! The scenarios: which script, which tool, which label, and how big at each scale.
//!
//! Labels are the CSE-CIC-IDS2018 names where the attack maps onto one (`DoS attacks-Slowloris`,
//! `SSH-Bruteforce`, …); attacks the 2018 data does not have (`SYN flood`, `PortScan`) carry
//! testbed-only names that the dataset crate's label table knows, with their category.

use std::fmt;
use std::str::FromStr;

/// Benign traffic or an attack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Benign,
    Attack,
}

/// How long and how large a run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scale {
    /// A few seconds per scenario (CI).
    Small,
    /// About a minute or two per attack; all scenarios give well over 200k flows.
    Full,
}

impl FromStr for Scale {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "small" => Ok(Scale::Small),
            "full" => Ok(Scale::Full),
            o => Err(format!("unknown scale '{o}' (expected small or full)")),
        }
    }
}

impl fmt::Display for Scale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scale::Small => "small",
            Scale::Full => "full",
        })
    }
}

/// A scenario's limits, handed to its script as TB_SECONDS, TB_PACKETS and TB_COUNT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Budget {
    /// Hard time limit in seconds (the script's tools are stopped at it).
    pub seconds: u32,
    /// Packet budget of floods (0 where the tool is bounded otherwise).
    pub packets: u32,
    /// Size: ports, password candidates, requests, connections or users, per scenario.
    pub count: u32,
}

const fn b(seconds: u32, packets: u32, count: u32) -> Budget {
    Budget {
        seconds,
        packets,
        count,
    }
}

/// One scenario of the catalogue.
#[derive(Clone, Copy, Debug)]
pub struct Scenario {
    pub name: &'static str,
    pub kind: Kind,
    /// Label of its flows (CIC-IDS2018 name where one maps).
    pub label: &'static str,
    /// Tools as shown in the manifest and docs.
    pub tools: &'static [&'static str],
    /// Debian packages whose versions the manifest records.
    pub packages: &'static [&'static str],
    /// Extra hosts the script drives besides its own (DDoS bots, the infected host of `bot`).
    pub extra_hosts: u8,
    /// Runs during the whole attack phase, beside the sequential attacks (benign users, the bot's
    /// periodic beacons); its flows are told apart by address.
    pub concurrent: bool,
    pub small: Budget,
    pub full: Budget,
    pub about: &'static str,
}

impl Scenario {
    pub fn budget(&self, scale: Scale) -> Budget {
        match scale {
            Scale::Small => self.small,
            Scale::Full => self.full,
        }
    }

    /// Whether its packets carry forged source addresses (see [`crate::routing`]).
    pub fn forges_sources(&self) -> bool {
        FORGING.contains(&self.name)
    }

    /// The script under `testbed/scenarios/`.
    pub fn script(&self) -> String {
        // The scan types without a handshake share one script, which reads its type from the name.
        let file = match self.name {
            "portscan-fin" | "portscan-xmas" | "portscan-null" | "portscan-ack" => {
                "portscan-stealth"
            }
            name => name,
        };
        format!("scenarios/{file}.sh")
    }
}

use Kind::{Attack, Benign};

/// The scenarios whose packets carry forged source addresses.
const FORGING: &[&str] = &["syn-flood-spoofed"];

/// Every scenario, in the order attacks run.
pub const CATALOGUE: &[Scenario] = &[
    Scenario { name: "benign-browse", kind: Benign, label: "Benign", tools: &["curl"], packages: &["curl"], extra_hosts: 0, concurrent: true,
        small: b(0, 0, 3), full: b(0, 0, 6), about: "users browsing the shop: pages with stylesheet, products, search, guestbook, logins" },
    Scenario { name: "benign-lan-chatter", kind: Benign, label: "Benign", tools: &["python3"], packages: &["python3"], extra_hosts: 0, concurrent: true,
        small: b(0, 0, 0), full: b(0, 0, 0), about: "one-datagram LAN chatter: SSDP, mDNS, LLMNR, NetBIOS name queries, DHCP DISCOVER" },
    Scenario { name: "benign-download", kind: Benign, label: "Benign", tools: &["wget"], packages: &["wget"], extra_hosts: 0, concurrent: true,
        small: b(0, 0, 0), full: b(0, 0, 0), about: "file downloads (0.5-5 MB) at varied rate limits" },
    Scenario { name: "benign-ssh", kind: Benign, label: "Benign", tools: &["ssh", "scp", "sshpass"], packages: &["openssh-client", "sshpass"], extra_hosts: 0, concurrent: true,
        small: b(0, 0, 0), full: b(0, 0, 0), about: "SSH command sessions, slow interactive-like sessions, scp both ways" },
    Scenario { name: "benign-ftp", kind: Benign, label: "Benign", tools: &["curl"], packages: &["curl"], extra_hosts: 0, concurrent: true,
        small: b(0, 0, 0), full: b(0, 0, 0), about: "FTP listings, downloads and uploads, passive and active" },
    Scenario { name: "benign-dns", kind: Benign, label: "Benign", tools: &["dig"], packages: &["dnsutils"], extra_hosts: 0, concurrent: true,
        small: b(0, 0, 0), full: b(0, 0, 0), about: "DNS lookups of known and unknown names and a TXT record, over UDP and one in six over TCP" },
    Scenario { name: "benign-tls", kind: Benign, label: "Benign", tools: &["curl"], packages: &["curl", "openssl"], extra_hosts: 0, concurrent: true,
        small: b(0, 0, 2), full: b(0, 0, 4), about: "HTTPS browsing (HTTP/2 and HTTP/1.1 over TLS): pages, several requests per connection, a rate-limited download" },
    Scenario { name: "benign-mail", kind: Benign, label: "Benign", tools: &["swaks"], packages: &["swaks", "python3-aiosmtpd"], extra_hosts: 0, concurrent: true,
        small: b(0, 0, 0), full: b(0, 0, 0), about: "mail submitted over SMTP: short messages and some with a 200 kB attachment" },
    Scenario { name: "benign-smb", kind: Benign, label: "Benign", tools: &["smbclient"], packages: &["smbclient", "samba"], extra_hosts: 0, concurrent: true,
        small: b(0, 0, 0), full: b(0, 0, 0), about: "an office user on the SMB file share (SMB3): listings, documents read and saved, now and then a 3 MB archive" },
    Scenario { name: "benign-ntp", kind: Benign, label: "Benign", tools: &["sntp"], packages: &["sntp", "chrony"], extra_hosts: 0, concurrent: true,
        small: b(0, 0, 0), full: b(0, 0, 0), about: "NTP time queries (one request, one answer each) to the victim's chronyd" },
    Scenario { name: "bot", kind: Attack, label: "Bot", tools: &["curl", "python3"], packages: &["curl", "python3"], extra_hosts: 1, concurrent: true,
        small: b(0, 0, 1000), full: b(0, 0, 100000), about: "an infected host polling an HTTP C2 server with jitter, uploading results, pulling files (Ares-like)" },
    Scenario { name: "syn-flood", kind: Attack, label: "SYN flood", tools: &["hping3"], packages: &["hping3"], extra_hosts: 0, concurrent: false,
        small: b(6, 3000, 0), full: b(60, 60000, 0), about: "TCP SYNs to port 80 from incrementing source ports" },
    Scenario { name: "syn-flood-spoofed", kind: Attack, label: "SYN flood", tools: &["hping3"], packages: &["hping3"], extra_hosts: 0, concurrent: false,
        small: b(6, 3000, 0), full: b(60, 60000, 0), about: "TCP SYNs to port 80, each from a random forged source address (the victim's answers have nowhere to go)" },
    Scenario { name: "dns-amplification", kind: Attack, label: "UDP amplification", tools: &["hping3", "dnsmasq"], packages: &["hping3", "dnsmasq"], extra_hosts: 3, concurrent: false,
        small: b(6, 3000, 0), full: b(60, 60000, 0), about: "DNS queries for a 1.3 kB TXT record sent from outside the LAN to 3 open resolvers on it, forged with the victim's address: the resolvers' answers flood the victim" },
    Scenario { name: "ddos-loic-udp", kind: Attack, label: "DDOS attack-LOIC-UDP", tools: &["hping3"], packages: &["hping3"], extra_hosts: 2, concurrent: false,
        small: b(9, 4000, 0), full: b(60, 120000, 0), about: "UDP flood to port 80 from 3 hosts, fixed-port sockets renewed every 4 s (LOIC-like)" },
    Scenario { name: "portscan-syn", kind: Attack, label: "PortScan", tools: &["nmap"], packages: &["nmap"], extra_hosts: 0, concurrent: false,
        small: b(5, 0, 1000), full: b(60, 0, 20000), about: "nmap -sS over the first COUNT TCP ports, repeated" },
    Scenario { name: "portscan-connect", kind: Attack, label: "PortScan", tools: &["nmap"], packages: &["nmap"], extra_hosts: 0, concurrent: false,
        small: b(5, 0, 1000), full: b(60, 0, 20000), about: "nmap -sT (full handshakes) over the first COUNT TCP ports, repeated" },
    Scenario { name: "portscan-udp", kind: Attack, label: "PortScan", tools: &["nmap"], packages: &["nmap"], extra_hosts: 0, concurrent: false,
        small: b(6, 0, 50), full: b(60, 0, 200), about: "nmap -sU over the top COUNT UDP ports" },
    Scenario { name: "portscan-fin", kind: Attack, label: "PortScan", tools: &["nmap"], packages: &["nmap"], extra_hosts: 0, concurrent: false,
        small: b(5, 0, 1000), full: b(60, 0, 20000), about: "nmap -sF (FIN probes) over the first COUNT TCP ports, repeated" },
    Scenario { name: "portscan-xmas", kind: Attack, label: "PortScan", tools: &["nmap"], packages: &["nmap"], extra_hosts: 0, concurrent: false,
        small: b(5, 0, 1000), full: b(60, 0, 20000), about: "nmap -sX (FIN, PSH, URG) over the first COUNT TCP ports, repeated" },
    Scenario { name: "portscan-null", kind: Attack, label: "PortScan", tools: &["nmap"], packages: &["nmap"], extra_hosts: 0, concurrent: false,
        small: b(5, 0, 1000), full: b(60, 0, 20000), about: "nmap -sN (no flags) over the first COUNT TCP ports, repeated" },
    Scenario { name: "portscan-ack", kind: Attack, label: "PortScan", tools: &["nmap"], packages: &["nmap"], extra_hosts: 0, concurrent: false,
        small: b(5, 0, 1000), full: b(60, 0, 20000), about: "nmap -sA (ACK probes, firewall mapping) over the first COUNT TCP ports, repeated" },
    Scenario { name: "portscan-slow", kind: Attack, label: "PortScan", tools: &["nmap"], packages: &["nmap"], extra_hosts: 0, concurrent: false,
        small: b(12, 0, 30), full: b(120, 0, 300), about: "nmap -sS --scan-delay 300ms over the first COUNT TCP ports (about 3 probes/s)" },
    Scenario { name: "portscan-version", kind: Attack, label: "PortScan", tools: &["nmap"], packages: &["nmap"], extra_hosts: 0, concurrent: false,
        small: b(12, 0, 20), full: b(60, 0, 100), about: "nmap -sV service and version probes on the top COUNT ports" },
    Scenario { name: "ssh-bruteforce", kind: Attack, label: "SSH-Bruteforce", tools: &["patator"], packages: &["patator"], extra_hosts: 0, concurrent: false,
        small: b(12, 0, 60), full: b(90, 0, 1000), about: "patator ssh_login, 8 threads, a connection per attempt" },
    Scenario { name: "ftp-bruteforce", kind: Attack, label: "FTP-BruteForce", tools: &["patator"], packages: &["patator"], extra_hosts: 0, concurrent: false,
        small: b(10, 0, 60), full: b(90, 0, 1000), about: "patator ftp_login, 8 threads, a connection per attempt" },
    Scenario { name: "ssh-bruteforce-hydra", kind: Attack, label: "SSH-Bruteforce", tools: &["hydra"], packages: &["hydra"], extra_hosts: 0, concurrent: false,
        small: b(10, 0, 40), full: b(60, 0, 1000), about: "hydra ssh, 4 tasks" },
    Scenario { name: "ftp-bruteforce-hydra", kind: Attack, label: "FTP-BruteForce", tools: &["hydra"], packages: &["hydra"], extra_hosts: 0, concurrent: false,
        small: b(8, 0, 40), full: b(60, 0, 1000), about: "hydra ftp, 8 tasks" },
    Scenario { name: "slowloris", kind: Attack, label: "DoS attacks-Slowloris", tools: &["slowhttptest"], packages: &["slowhttptest"], extra_hosts: 0, concurrent: false,
        small: b(10, 0, 200), full: b(60, 0, 1000), about: "slowhttptest -H: COUNT connections sending headers slowly" },
    Scenario { name: "slow-body", kind: Attack, label: "DoS attacks-SlowHTTPTest", tools: &["slowhttptest"], packages: &["slowhttptest"], extra_hosts: 0, concurrent: false,
        small: b(10, 0, 200), full: b(60, 0, 1000), about: "slowhttptest -B: COUNT slow POST bodies" },
    Scenario { name: "hulk", kind: Attack, label: "DoS attacks-Hulk", tools: &["wrk"], packages: &["wrk"], extra_hosts: 0, concurrent: false,
        small: b(8, 0, 3000), full: b(60, 0, 40000), about: "wrk + Lua: unique URLs, random agents and referers, no keep-alive (HULK-like)" },
    Scenario { name: "goldeneye", kind: Attack, label: "DoS attacks-GoldenEye", tools: &["wrk"], packages: &["wrk"], extra_hosts: 0, concurrent: false,
        small: b(8, 0, 3000), full: b(60, 0, 40000), about: "wrk + Lua: keep-alive, random queries, no-cache (GoldenEye-like)" },
    Scenario { name: "ddos-loic-http", kind: Attack, label: "DDoS attacks-LOIC-HTTP", tools: &["ab"], packages: &["apache2-utils"], extra_hosts: 2, concurrent: false,
        small: b(8, 0, 3000), full: b(60, 0, 40000), about: "ApacheBench from 3 hosts: the same GET, a connection per request (LOIC-like)" },
    Scenario { name: "ddos-hoic", kind: Attack, label: "DDOS attack-HOIC", tools: &["wrk"], packages: &["wrk"], extra_hosts: 2, concurrent: false,
        small: b(8, 0, 3000), full: b(60, 0, 40000), about: "wrk + Lua from 3 hosts: random booster headers over several pages (HOIC-like)" },
    Scenario { name: "sqli", kind: Attack, label: "SQL Injection", tools: &["sqlmap"], packages: &["sqlmap"], extra_hosts: 0, concurrent: false,
        small: b(20, 0, 0), full: b(90, 0, 0), about: "sqlmap on products.php?id: detection, fingerprint, dump of the users table, per technique" },
    Scenario { name: "xss", kind: Attack, label: "Brute Force -XSS", tools: &["curl"], packages: &["curl"], extra_hosts: 0, concurrent: false,
        small: b(8, 0, 100), full: b(60, 0, 2000), about: "XSS payload variants against the reflected search and the stored guestbook" },
    Scenario { name: "web-bruteforce", kind: Attack, label: "Brute Force -Web", tools: &["hydra"], packages: &["hydra"], extra_hosts: 0, concurrent: false,
        small: b(8, 0, 300), full: b(60, 0, 5000), about: "hydra http-post-form against login.php" },
    Scenario { name: "web-exploit", kind: Attack, label: "Path Traversal", tools: &["nmap"], packages: &["nmap"], extra_hosts: 0, concurrent: false,
        small: b(10, 0, 0), full: b(30, 0, 0), about: "nmap NSE exploit scripts: traversal (most requests), Shellshock, Struts OGNL, PHP-CGI" },
];

/// Look a scenario up by name.
pub fn find(name: &str) -> Option<&'static Scenario> {
    CATALOGUE.iter().find(|s| s.name == name)
}

/// Resolve `--scenarios`: names, `all`, `benign` or `attacks`, comma-separated; catalogue order,
/// no repeats. An empty list means all.
pub fn select(spec: &[String]) -> Result<Vec<&'static Scenario>, String> {
    let mut keep = vec![false; CATALOGUE.len()];
    if spec.is_empty() {
        keep.iter_mut().for_each(|k| *k = true);
    }
    for item in spec.iter().flat_map(|s| s.split(',')).map(str::trim) {
        match item {
            "" => {}
            "all" => keep.iter_mut().for_each(|k| *k = true),
            "benign" | "attacks" => {
                let kind = if item == "benign" { Benign } else { Attack };
                for (k, s) in keep.iter_mut().zip(CATALOGUE) {
                    *k |= s.kind == kind;
                }
            }
            name => match CATALOGUE.iter().position(|s| s.name == name) {
                Some(i) => keep[i] = true,
                None => {
                    let names: Vec<&str> = CATALOGUE.iter().map(|s| s.name).collect();
                    return Err(format!(
                        "unknown scenario '{name}' (known: all, benign, attacks, {})",
                        names.join(", ")
                    ));
                }
            },
        }
    }
    Ok(CATALOGUE
        .iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(s, _)| s)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_scripts_exist() {
        for (i, s) in CATALOGUE.iter().enumerate() {
            assert!(
                CATALOGUE[..i].iter().all(|o| o.name != s.name),
                "{}",
                s.name
            );
            assert!(
                crate::scripts::FILES.iter().any(|(p, _)| *p == s.script()),
                "no script for {}",
                s.name
            );
            if !s.concurrent {
                assert!(
                    s.small.seconds > 0 && s.full.seconds >= s.small.seconds,
                    "{}",
                    s.name
                );
            }
            assert_eq!(s.kind == Kind::Benign, s.label == "Benign", "{}", s.name);
        }
    }

    #[test]
    fn selection() {
        let all = select(&[]).unwrap();
        assert_eq!(all.len(), CATALOGUE.len());
        let some = select(&["hulk,benign-dns".into(), "hulk".into()]).unwrap();
        let names: Vec<&str> = some.iter().map(|s| s.name).collect();
        assert_eq!(names, ["benign-dns", "hulk"]);
        let benign = select(&["benign".into()]).unwrap();
        assert!(benign.iter().all(|s| s.kind == Kind::Benign) && benign.len() == 10);
        assert!(select(&["nope".into()])
            .unwrap_err()
            .contains("unknown scenario 'nope'"));
    }
}
