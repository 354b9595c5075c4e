//! Output column layouts: which columns, in which order, under which names.
//!
//! cic2018 mode writes the 84-column shape of the Tuesday-20-02-2018 file (Flow ID, Src IP, Src Port,
//! Dst IP, then the 79 standard columns) and corrected mode the improved release's order; an optional
//! Label column ends both, and an optional Community ID column follows Flow ID.

use crate::config::Mode;
use crate::features::{Feature, CIC2018_FEATURES, CORRECTED_FEATURES};
use std::fmt;
use std::str::FromStr;

/// Which dialect's header names to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NameStyle {
    /// CSE-CIC-IDS2018 (`Tot Fwd Pkts`).
    Cic2018,
    /// snake_case as in the seed's API (`tot_fwd_pkts`).
    Snake,
    /// The 2022 improved release (`Total Fwd Packet`).
    Improved,
}

impl NameStyle {
    /// The natural style of a mode's output.
    pub fn default_for(mode: Mode) -> NameStyle {
        match mode {
            Mode::Cic2018 => NameStyle::Cic2018,
            Mode::Corrected => NameStyle::Improved,
        }
    }
}

impl FromStr for NameStyle {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cic2018" => Ok(NameStyle::Cic2018),
            "snake" => Ok(NameStyle::Snake),
            "improved" => Ok(NameStyle::Improved),
            o => Err(format!(
                "unknown name style '{o}' (expected cic2018, snake or improved)"
            )),
        }
    }
}

impl fmt::Display for NameStyle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameStyle::Cic2018 => "cic2018",
            NameStyle::Snake => "snake",
            NameStyle::Improved => "improved",
        })
    }
}

/// Non-feature columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetaColumn {
    FlowId,
    /// The flow's Community ID v1 (empty where it has none): the join key with Suricata, Zeek and
    /// Elastic. Only when asked for ([`Layout::with_community_id`]), so the CIC shapes stay exact.
    CommunityId,
    SrcIp,
    SrcPort,
    DstIp,
    Timestamp,
    Label,
}

impl MetaColumn {
    pub fn name(self, style: NameStyle) -> &'static str {
        use MetaColumn::*;
        match (self, style) {
            (FlowId, NameStyle::Snake) => "flow_id",
            (CommunityId, NameStyle::Snake) => "community_id",
            (SrcIp, NameStyle::Snake) => "src_ip",
            (SrcPort, NameStyle::Snake) => "src_port",
            (DstIp, NameStyle::Snake) => "dst_ip",
            (Timestamp, NameStyle::Snake) => "timestamp",
            (Label, NameStyle::Snake) => "label",
            (FlowId, _) => "Flow ID",
            (CommunityId, _) => "Community ID",
            (SrcIp, _) => "Src IP",
            (SrcPort, _) => "Src Port",
            (DstIp, _) => "Dst IP",
            (Timestamp, _) => "Timestamp",
            (Label, _) => "Label",
        }
    }
}

/// One output column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Column {
    Meta(MetaColumn),
    Feature(Feature),
}

/// A complete output layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub mode: Mode,
    pub style: NameStyle,
    pub with_label: bool,
    /// A Community ID column after Flow ID.
    pub community_id: bool,
}

impl Layout {
    pub fn new(mode: Mode, style: NameStyle, with_label: bool) -> Self {
        Layout {
            mode,
            style,
            with_label,
            community_id: false,
        }
    }

    /// The same layout with (or without) the Community ID column.
    pub fn with_community_id(self, community_id: bool) -> Self {
        Layout {
            community_id,
            ..self
        }
    }

    /// The features of a mode, in output order.
    pub fn features(mode: Mode) -> &'static [Feature] {
        match mode {
            Mode::Cic2018 => CIC2018_FEATURES,
            Mode::Corrected => CORRECTED_FEATURES,
        }
    }

    pub fn columns(&self) -> Vec<Column> {
        use MetaColumn::*;
        let mut cols = vec![Column::Meta(FlowId)];
        if self.community_id {
            cols.push(Column::Meta(CommunityId));
        }
        cols.extend([
            Column::Meta(SrcIp),
            Column::Meta(SrcPort),
            Column::Meta(DstIp),
        ]);
        for &f in Self::features(self.mode) {
            cols.push(Column::Feature(f));
            if f == Feature::Protocol {
                cols.push(Column::Meta(Timestamp));
            }
        }
        if self.with_label {
            cols.push(Column::Meta(Label));
        }
        cols
    }

    pub fn column_name(&self, c: Column) -> &'static str {
        match c {
            Column::Meta(m) => m.name(self.style),
            Column::Feature(f) => feature_name(f, self.style, self.mode),
        }
    }

    pub fn header(&self) -> Vec<&'static str> {
        self.columns()
            .into_iter()
            .map(|c| self.column_name(c))
            .collect()
    }
}

/// A feature's name in a style (the snake name depends on the mode only for the CWR/CWE column).
pub fn feature_name(f: Feature, style: NameStyle, mode: Mode) -> &'static str {
    match style {
        NameStyle::Cic2018 => f.names().cic2018,
        NameStyle::Snake => f.snake_name(mode == Mode::Corrected),
        NameStyle::Improved => f.names().improved,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cic2018_layout_is_the_84_column_file() {
        let h = Layout::new(Mode::Cic2018, NameStyle::Cic2018, true).header();
        assert_eq!(h.len(), 84);
        assert_eq!(
            &h[..8],
            &[
                "Flow ID",
                "Src IP",
                "Src Port",
                "Dst IP",
                "Dst Port",
                "Protocol",
                "Timestamp",
                "Flow Duration"
            ]
        );
        assert_eq!(h[83], "Label");
        assert_eq!(h[82], "Idle Min");
    }

    #[test]
    fn corrected_layout_matches_the_improved_release() {
        // The improved files have `id` first and `Attempted Category` last; everything between is ours.
        let h = Layout::new(Mode::Corrected, NameStyle::Improved, true).header();
        let improved = "Flow ID,Src IP,Src Port,Dst IP,Dst Port,Protocol,Timestamp,Flow Duration,Total Fwd Packet,Total Bwd packets,Total Length of Fwd Packet,Total Length of Bwd Packet,Fwd Packet Length Max,Fwd Packet Length Min,Fwd Packet Length Mean,Fwd Packet Length Std,Bwd Packet Length Max,Bwd Packet Length Min,Bwd Packet Length Mean,Bwd Packet Length Std,Flow Bytes/s,Flow Packets/s,Flow IAT Mean,Flow IAT Std,Flow IAT Max,Flow IAT Min,Fwd IAT Total,Fwd IAT Mean,Fwd IAT Std,Fwd IAT Max,Fwd IAT Min,Bwd IAT Total,Bwd IAT Mean,Bwd IAT Std,Bwd IAT Max,Bwd IAT Min,Fwd PSH Flags,Bwd PSH Flags,Fwd URG Flags,Bwd URG Flags,Fwd RST Flags,Bwd RST Flags,Fwd Header Length,Bwd Header Length,Fwd Packets/s,Bwd Packets/s,Packet Length Min,Packet Length Max,Packet Length Mean,Packet Length Std,Packet Length Variance,FIN Flag Count,SYN Flag Count,RST Flag Count,PSH Flag Count,ACK Flag Count,URG Flag Count,CWR Flag Count,ECE Flag Count,Down/Up Ratio,Average Packet Size,Fwd Segment Size Avg,Bwd Segment Size Avg,Fwd Bytes/Bulk Avg,Fwd Packet/Bulk Avg,Fwd Bulk Rate Avg,Bwd Bytes/Bulk Avg,Bwd Packet/Bulk Avg,Bwd Bulk Rate Avg,Subflow Fwd Packets,Subflow Fwd Bytes,Subflow Bwd Packets,Subflow Bwd Bytes,FWD Init Win Bytes,Bwd Init Win Bytes,Fwd Act Data Pkts,Fwd Seg Size Min,Active Mean,Active Std,Active Max,Active Min,Idle Mean,Idle Std,Idle Max,Idle Min,ICMP Code,ICMP Type,Total TCP Flow Time,Label";
        assert_eq!(h.join(","), improved);
    }

    #[test]
    fn the_community_id_column_follows_flow_id_only_when_asked_for() {
        let plain = Layout::new(Mode::Cic2018, NameStyle::Cic2018, true);
        let with = plain.clone().with_community_id(true);
        let (h, hc) = (plain.header(), with.header());
        assert_eq!(hc.len(), h.len() + 1);
        assert_eq!(&hc[..3], &["Flow ID", "Community ID", "Src IP"]);
        assert_eq!(&hc[2..], &h[1..]);
        let snake = Layout::new(Mode::Corrected, NameStyle::Snake, false).with_community_id(true);
        assert_eq!(snake.header()[1], "community_id");
    }
}
