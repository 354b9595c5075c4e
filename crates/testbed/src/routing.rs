//! Which scenario a packet or flow belongs to: by the address of its non-victim end (every scenario
//! has hosts of its own), and for flows also by time (the flow must start inside the scenario's
//! window), the way CIC labelled by attacker address and attack time.

use crate::manifest::Manifest;
use std::collections::HashMap;
use std::net::IpAddr;

/// Flows may start this long before the recorded start (clock granularity) …
pub const WINDOW_LEAD_US: i64 = 1_000_000;
/// … and this long after the end (the kernel's FIN/RST after a tool was stopped).
pub const WINDOW_GRACE_US: i64 = 5_000_000;

#[derive(Clone, Debug, Default)]
pub struct Routing {
    by_ip: HashMap<IpAddr, usize>,
    /// Per scenario: [start, end] in µs since the epoch.
    windows: Vec<(i64, i64)>,
}

impl Routing {
    /// `hosts[i]`: the addresses of scenario i; `windows[i]`: its time window.
    pub fn new(hosts: &[Vec<IpAddr>], windows: Vec<(i64, i64)>) -> Routing {
        let mut by_ip = HashMap::new();
        for (i, hs) in hosts.iter().enumerate() {
            for ip in hs {
                by_ip.insert(*ip, i);
            }
        }
        Routing { by_ip, windows }
    }

    pub fn from_manifest(m: &Manifest) -> Result<Routing, String> {
        let mut hosts = Vec::new();
        let mut windows = Vec::new();
        for s in &m.scenarios {
            let ips = s
                .hosts
                .iter()
                .map(|h| {
                    h.ip.parse::<IpAddr>()
                        .map_err(|e| format!("scenario {}: bad address {}: {e}", s.name, h.ip))
                })
                .collect::<Result<Vec<_>, _>>()?;
            hosts.push(ips);
            windows.push((s.start_us, s.end_us));
        }
        Ok(Routing::new(&hosts, windows))
    }

    /// The scenario of a packet or flow between `a` and `b`.
    #[inline]
    pub fn scenario(&self, a: IpAddr, b: IpAddr) -> Option<usize> {
        self.by_ip.get(&a).or_else(|| self.by_ip.get(&b)).copied()
    }

    /// Does a flow starting at `start_us` fall inside scenario `i`'s window?
    pub fn in_window(&self, i: usize, start_us: i64) -> bool {
        let (s, e) = self.windows[i];
        start_us >= s - WINDOW_LEAD_US && start_us <= e + WINDOW_GRACE_US
    }

    pub fn scenarios(&self) -> usize {
        self.windows.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_either_end_and_checks_the_window() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let r = Routing::new(
            &[
                vec![ip("10.77.0.20")],
                vec![ip("10.77.0.100"), ip("10.77.0.200")],
            ],
            vec![(0, 100_000_000), (50_000_000, 60_000_000)],
        );
        let victim = ip("10.77.0.10");
        assert_eq!(r.scenario(ip("10.77.0.20"), victim), Some(0));
        assert_eq!(r.scenario(victim, ip("10.77.0.200")), Some(1));
        assert_eq!(r.scenario(victim, ip("10.77.0.99")), None);
        assert!(r.in_window(1, 49_500_000) && r.in_window(1, 64_000_000));
        assert!(!r.in_window(1, 48_000_000) && !r.in_window(1, 66_000_000));
    }
}
