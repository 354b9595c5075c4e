//! Which scenario a packet or flow belongs to: by the address of its non-victim end (every scenario
//! has hosts of its own), and for flows also by time (the flow must start inside the scenario's
//! window), the way CIC labelled by attacker address and attack time.
//!
//! Scenarios that forge their source addresses (spoofed floods) have no address of their own on
//! the wire: traffic to or from the victim whose other end is no testbed host belongs to the
//! forging scenario whose window holds its time. Only one attack runs at a time, and every benign
//! user has an address of its own, so the attribution is unambiguous.

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
    /// The victim, and the scenarios that forge source addresses toward it.
    victim: Option<IpAddr>,
    forging: Vec<usize>,
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
        Routing {
            by_ip,
            windows,
            victim: None,
            forging: Vec::new(),
        }
    }

    /// Attribute traffic between `victim` and addresses no scenario owns to the `forging`
    /// scenarios, by time.
    pub fn with_forged_sources(mut self, victim: IpAddr, forging: Vec<usize>) -> Routing {
        self.victim = Some(victim);
        self.forging = forging;
        self
    }

    pub fn from_manifest(m: &Manifest) -> Result<Routing, String> {
        let mut hosts = Vec::new();
        let mut windows = Vec::new();
        let mut forging = Vec::new();
        for (i, s) in m.scenarios.iter().enumerate() {
            if s.forged_sources {
                forging.push(i);
            }
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
        let routing = Routing::new(&hosts, windows);
        if forging.is_empty() {
            return Ok(routing);
        }
        let victim = m
            .network
            .victim
            .parse()
            .map_err(|e| format!("bad victim address {}: {e}", m.network.victim))?;
        Ok(routing.with_forged_sources(victim, forging))
    }

    /// The scenario of a packet or flow between `a` and `b` at `t_us` (its time, or its start).
    #[inline]
    pub fn scenario(&self, a: IpAddr, b: IpAddr, t_us: i64) -> Option<usize> {
        if let Some(&i) = self.by_ip.get(&a).or_else(|| self.by_ip.get(&b)) {
            return Some(i);
        }
        let victim = self.victim?;
        if a != victim && b != victim {
            return None;
        }
        self.forging
            .iter()
            .copied()
            .find(|&i| self.in_window(i, t_us))
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
        assert_eq!(r.scenario(ip("10.77.0.20"), victim, 0), Some(0));
        assert_eq!(r.scenario(victim, ip("10.77.0.200"), 0), Some(1));
        assert_eq!(r.scenario(victim, ip("10.77.0.99"), 55_000_000), None);
        assert!(r.in_window(1, 49_500_000) && r.in_window(1, 64_000_000));
        assert!(!r.in_window(1, 48_000_000) && !r.in_window(1, 66_000_000));
    }

    #[test]
    fn forged_sources_belong_to_the_forging_scenario_of_their_time() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let victim = ip("10.77.0.10");
        let r = Routing::new(
            &[vec![ip("10.77.0.20")], vec![ip("10.77.0.100")]],
            vec![(0, 100_000_000), (50_000_000, 60_000_000)],
        )
        .with_forged_sources(victim, vec![1]);
        let forged = ip("203.0.113.7");
        assert_eq!(r.scenario(forged, victim, 55_000_000), Some(1));
        assert_eq!(r.scenario(victim, forged, 55_000_000), Some(1));
        // Outside its window, or between two strangers (a DHCP broadcast), it is no one's.
        assert_eq!(r.scenario(forged, victim, 20_000_000), None);
        assert_eq!(
            r.scenario(ip("0.0.0.0"), ip("255.255.255.255"), 55_000_000),
            None
        );
        // A benign user's address stays its own during the flood.
        assert_eq!(r.scenario(ip("10.77.0.20"), victim, 55_000_000), Some(0));
    }
}
