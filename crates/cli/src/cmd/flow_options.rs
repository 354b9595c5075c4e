//! Flow-meter options, declared once and shared by every command that builds flows (extract,
//! detect, watch, sensor), so they are spelled, documented and validated the same everywhere.

use anyhow::{bail, Result};
use clap::Args;
use mlids_flow::{MeterConfig, Mode};

/// Flow-table limits and timeouts.
#[derive(Args, Debug, Clone, Default)]
pub struct FlowLimits {
    /// Bound on concurrently open flows; the least recently seen are emitted (as `evicted`) past it.
    #[arg(long)]
    pub max_flows: Option<usize>,
    /// Seconds after a flow's first packet at which it is cut (120 in both modes).
    #[arg(long)]
    pub active_timeout: Option<f64>,
    /// Seconds of silence after which a flow is expired (corrected default 60; cic2018 default
    /// none for captures, the active timeout for live capture).
    #[arg(long)]
    pub idle_timeout: Option<f64>,
    /// Drop flows with fewer packets (cic2018 default 2, corrected default 1).
    #[arg(long)]
    pub min_packets: Option<u32>,
}

impl FlowLimits {
    /// The meter settings for reading captures in `mode`.
    pub fn meter_config(&self, mode: Mode) -> Result<MeterConfig> {
        let mut cfg = MeterConfig::new(mode);
        self.apply(&mut cfg)?;
        Ok(cfg)
    }

    /// The meter settings for live capture in `mode` ([`MeterConfig::live`]): in cic2018 mode an
    /// idle timeout not given follows the active timeout.
    pub fn live_meter_config(&self, mode: Mode) -> Result<MeterConfig> {
        let mut cfg = MeterConfig::live(mode);
        self.apply(&mut cfg)?;
        if mode == Mode::Cic2018 && self.idle_timeout.is_none() {
            cfg.idle_timeout_us = Some(cfg.active_timeout_us);
        }
        Ok(cfg)
    }

    fn apply(&self, cfg: &mut MeterConfig) -> Result<()> {
        if let Some(n) = self.max_flows {
            if n == 0 {
                bail!("--max-flows must be at least 1");
            }
            cfg.max_flows = n;
        }
        if let Some(s) = self.active_timeout {
            cfg.active_timeout_us = micros(s, "active-timeout")?;
        }
        if let Some(s) = self.idle_timeout {
            cfg.idle_timeout_us = Some(micros(s, "idle-timeout")?);
        }
        if let Some(n) = self.min_packets {
            cfg.min_packets = n.max(1);
        }
        Ok(())
    }
}

/// Seconds from the command line as µs.
fn micros(s: f64, name: &str) -> Result<i64> {
    if !(s.is_finite() && s > 0.0) {
        bail!("--{name} must be a positive number of seconds");
    }
    Ok((s * 1e6) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_applied_and_validated() {
        let l = FlowLimits {
            max_flows: Some(10),
            active_timeout: Some(30.0),
            idle_timeout: None,
            min_packets: Some(0),
        };
        let c = l.meter_config(Mode::Cic2018).unwrap();
        assert_eq!(
            (c.max_flows, c.active_timeout_us, c.idle_timeout_us),
            (10, 30_000_000, None)
        );
        assert_eq!(c.min_packets, 1, "at least one packet");
        let live = l.live_meter_config(Mode::Cic2018).unwrap();
        assert_eq!(
            live.idle_timeout_us,
            Some(30_000_000),
            "follows --active-timeout"
        );
        let live = l.live_meter_config(Mode::Corrected).unwrap();
        assert_eq!(
            live.idle_timeout_us,
            Some(60_000_000),
            "corrected keeps its own"
        );
        let bad = FlowLimits {
            active_timeout: Some(-1.0),
            ..Default::default()
        };
        assert!(bad
            .meter_config(Mode::Corrected)
            .unwrap_err()
            .to_string()
            .contains("--active-timeout"));
        let zero = FlowLimits {
            max_flows: Some(0),
            ..Default::default()
        };
        assert!(zero.meter_config(Mode::Corrected).is_err());
    }
}
