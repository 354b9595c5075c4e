//! The scripts under `testbed/`, embedded so that `ml-ids testbed run` works from any directory; a run
//! writes them into its output folder (`DIR/scripts/`) and runs them from there, so the run keeps
//! the exact scripts that made it.

use std::path::Path;

/// (path under `testbed/`, contents).
pub const FILES: &[(&str, &str)] = &[
    (
        "lib/common.sh",
        include_str!("../../../testbed/lib/common.sh"),
    ),
    (
        "lib/delay.py",
        include_str!("../../../testbed/lib/delay.py"),
    ),
    (
        "lib/httpflood.lua",
        include_str!("../../../testbed/lib/httpflood.lua"),
    ),
    ("lib/net.sh", include_str!("../../../testbed/lib/net.sh")),
    (
        "lib/services.sh",
        include_str!("../../../testbed/lib/services.sh"),
    ),
    (
        "scenarios/benign-lan-chatter.sh",
        include_str!("../../../testbed/scenarios/benign-lan-chatter.sh"),
    ),
    (
        "scenarios/benign-browse.sh",
        include_str!("../../../testbed/scenarios/benign-browse.sh"),
    ),
    (
        "scenarios/benign-dns.sh",
        include_str!("../../../testbed/scenarios/benign-dns.sh"),
    ),
    (
        "scenarios/benign-download.sh",
        include_str!("../../../testbed/scenarios/benign-download.sh"),
    ),
    (
        "scenarios/benign-ftp.sh",
        include_str!("../../../testbed/scenarios/benign-ftp.sh"),
    ),
    (
        "scenarios/benign-ssh.sh",
        include_str!("../../../testbed/scenarios/benign-ssh.sh"),
    ),
    (
        "scenarios/benign-tls.sh",
        include_str!("../../../testbed/scenarios/benign-tls.sh"),
    ),
    (
        "scenarios/benign-mail.sh",
        include_str!("../../../testbed/scenarios/benign-mail.sh"),
    ),
    (
        "scenarios/benign-ntp.sh",
        include_str!("../../../testbed/scenarios/benign-ntp.sh"),
    ),
    (
        "scenarios/bot.sh",
        include_str!("../../../testbed/scenarios/bot.sh"),
    ),
    (
        "scenarios/ddos-hoic.sh",
        include_str!("../../../testbed/scenarios/ddos-hoic.sh"),
    ),
    (
        "scenarios/ddos-loic-http.sh",
        include_str!("../../../testbed/scenarios/ddos-loic-http.sh"),
    ),
    (
        "scenarios/ddos-loic-udp.sh",
        include_str!("../../../testbed/scenarios/ddos-loic-udp.sh"),
    ),
    (
        "scenarios/ftp-bruteforce-hydra.sh",
        include_str!("../../../testbed/scenarios/ftp-bruteforce-hydra.sh"),
    ),
    (
        "scenarios/ftp-bruteforce.sh",
        include_str!("../../../testbed/scenarios/ftp-bruteforce.sh"),
    ),
    (
        "scenarios/goldeneye.sh",
        include_str!("../../../testbed/scenarios/goldeneye.sh"),
    ),
    (
        "scenarios/hulk.sh",
        include_str!("../../../testbed/scenarios/hulk.sh"),
    ),
    (
        "scenarios/portscan-connect.sh",
        include_str!("../../../testbed/scenarios/portscan-connect.sh"),
    ),
    (
        "scenarios/portscan-slow.sh",
        include_str!("../../../testbed/scenarios/portscan-slow.sh"),
    ),
    (
        "scenarios/portscan-stealth.sh",
        include_str!("../../../testbed/scenarios/portscan-stealth.sh"),
    ),
    (
        "scenarios/portscan-syn.sh",
        include_str!("../../../testbed/scenarios/portscan-syn.sh"),
    ),
    (
        "scenarios/portscan-udp.sh",
        include_str!("../../../testbed/scenarios/portscan-udp.sh"),
    ),
    (
        "scenarios/portscan-version.sh",
        include_str!("../../../testbed/scenarios/portscan-version.sh"),
    ),
    (
        "scenarios/slow-body.sh",
        include_str!("../../../testbed/scenarios/slow-body.sh"),
    ),
    (
        "scenarios/slowloris.sh",
        include_str!("../../../testbed/scenarios/slowloris.sh"),
    ),
    (
        "scenarios/sqli.sh",
        include_str!("../../../testbed/scenarios/sqli.sh"),
    ),
    (
        "scenarios/ssh-bruteforce-hydra.sh",
        include_str!("../../../testbed/scenarios/ssh-bruteforce-hydra.sh"),
    ),
    (
        "scenarios/ssh-bruteforce.sh",
        include_str!("../../../testbed/scenarios/ssh-bruteforce.sh"),
    ),
    (
        "scenarios/syn-flood.sh",
        include_str!("../../../testbed/scenarios/syn-flood.sh"),
    ),
    (
        "scenarios/benign-smb.sh",
        include_str!("../../../testbed/scenarios/benign-smb.sh"),
    ),
    (
        "scenarios/dns-amplification.sh",
        include_str!("../../../testbed/scenarios/dns-amplification.sh"),
    ),
    (
        "scenarios/syn-flood-spoofed.sh",
        include_str!("../../../testbed/scenarios/syn-flood-spoofed.sh"),
    ),
    (
        "scenarios/web-bruteforce.sh",
        include_str!("../../../testbed/scenarios/web-bruteforce.sh"),
    ),
    (
        "scenarios/web-exploit.sh",
        include_str!("../../../testbed/scenarios/web-exploit.sh"),
    ),
    (
        "scenarios/xss.sh",
        include_str!("../../../testbed/scenarios/xss.sh"),
    ),
    (
        "www/about.html",
        include_str!("../../../testbed/www/about.html"),
    ),
    ("www/db.php", include_str!("../../../testbed/www/db.php")),
    (
        "www/guestbook.php",
        include_str!("../../../testbed/www/guestbook.php"),
    ),
    (
        "www/index.php",
        include_str!("../../../testbed/www/index.php"),
    ),
    (
        "www/login.php",
        include_str!("../../../testbed/www/login.php"),
    ),
    (
        "www/products.php",
        include_str!("../../../testbed/www/products.php"),
    ),
    (
        "www/schema.sql",
        include_str!("../../../testbed/www/schema.sql"),
    ),
    (
        "www/search.php",
        include_str!("../../../testbed/www/search.php"),
    ),
    (
        "www/style.css",
        include_str!("../../../testbed/www/style.css"),
    ),
];

/// Write every file under `dir` (scripts executable).
pub fn install(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for (path, text) in FILES {
        let p = dir.join(path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&p, text)?;
        let mode = if path.ends_with(".sh") { 0o755 } else { 0o644 };
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file under testbed/lib, testbed/scenarios and testbed/www is embedded (a new script that
    /// is not listed here would silently be missing from runs).
    #[test]
    fn every_testbed_file_is_embedded() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testbed");
        let mut on_disk = Vec::new();
        for sub in ["lib", "scenarios", "www"] {
            for e in std::fs::read_dir(root.join(sub)).unwrap() {
                let name = e.unwrap().file_name().into_string().unwrap();
                on_disk.push(format!("{sub}/{name}"));
            }
        }
        on_disk.sort();
        let mut embedded: Vec<String> = FILES.iter().map(|(p, _)| p.to_string()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded);
    }
}
