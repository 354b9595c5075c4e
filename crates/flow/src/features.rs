//! The flow feature catalogue: every numeric column either extractor mode can write, with its name in
//! each naming style.
//!
//! One table drives CSV headers, Parquet schemas, JSON keys, the dataset importer's header matching and
//! the model's feature list, so a name is spelled in exactly one place. The order of [`Feature::ALL`] is
//! the CSE-CIC-IDS2018 column order (`Dst Port` … `Idle Min`) followed by the five columns only the
//! corrected mode (the 2022 improved release) has.

/// Whether a value is written as an integer or as a double (Java prints `long` as `66` and `double` as
/// `66.0`; keeping the distinction keeps our CSV byte-compatible with the published files).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    Int,
    Float,
}

/// Names of one feature in every dialect we read or write.
#[derive(Clone, Copy, Debug)]
pub struct FeatureNames {
    /// CSE-CIC-IDS2018 original header (`Tot Fwd Pkts`).
    pub cic2018: &'static str,
    /// snake_case, as in the seed project's API (`tot_fwd_pkts`).
    pub snake: &'static str,
    /// The 2022 improved re-release header (`Total Fwd Packet`).
    pub improved: &'static str,
    /// CIC-IDS2017 original header, without its leading space (`Total Fwd Packets`).
    pub cic2017: &'static str,
}

macro_rules! features {
    ($( $variant:ident => ($c18:expr, $snake:expr, $imp:expr, $c17:expr, $kind:ident) ),* $(,)?) => {
        /// One numeric flow feature. `Feature as usize` indexes [`crate::FlowRecord::values`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum Feature { $( $variant ),* }

        impl Feature {
            /// Every feature, in canonical (CSE-CIC-IDS2018, then improved-only) order.
            pub const ALL: &'static [Feature] = &[ $( Feature::$variant ),* ];

            /// Names of this feature in each dialect.
            pub const fn names(self) -> FeatureNames {
                match self {
                    $( Feature::$variant => FeatureNames { cic2018: $c18, snake: $snake, improved: $imp, cic2017: $c17 } ),*
                }
            }

            /// How the value is printed in CSV.
            #[inline]
            pub const fn kind(self) -> ValueKind {
                const KINDS: &[ValueKind] = &[ $( ValueKind::$kind ),* ];
                KINDS[self as usize]
            }
        }
    };
}

features! {
    DstPort => ("Dst Port", "dst_port", "Dst Port", "Destination Port", Int),
    Protocol => ("Protocol", "protocol", "Protocol", "Protocol", Int),
    FlowDuration => ("Flow Duration", "flow_duration", "Flow Duration", "Flow Duration", Int),
    TotFwdPkts => ("Tot Fwd Pkts", "tot_fwd_pkts", "Total Fwd Packet", "Total Fwd Packets", Int),
    TotBwdPkts => ("Tot Bwd Pkts", "tot_bwd_pkts", "Total Bwd packets", "Total Backward Packets", Int),
    TotLenFwdPkts => ("TotLen Fwd Pkts", "totlen_fwd_pkts", "Total Length of Fwd Packet", "Total Length of Fwd Packets", Float),
    TotLenBwdPkts => ("TotLen Bwd Pkts", "totlen_bwd_pkts", "Total Length of Bwd Packet", "Total Length of Bwd Packets", Float),
    FwdPktLenMax => ("Fwd Pkt Len Max", "fwd_pkt_len_max", "Fwd Packet Length Max", "Fwd Packet Length Max", Float),
    FwdPktLenMin => ("Fwd Pkt Len Min", "fwd_pkt_len_min", "Fwd Packet Length Min", "Fwd Packet Length Min", Float),
    FwdPktLenMean => ("Fwd Pkt Len Mean", "fwd_pkt_len_mean", "Fwd Packet Length Mean", "Fwd Packet Length Mean", Float),
    FwdPktLenStd => ("Fwd Pkt Len Std", "fwd_pkt_len_std", "Fwd Packet Length Std", "Fwd Packet Length Std", Float),
    BwdPktLenMax => ("Bwd Pkt Len Max", "bwd_pkt_len_max", "Bwd Packet Length Max", "Bwd Packet Length Max", Float),
    BwdPktLenMin => ("Bwd Pkt Len Min", "bwd_pkt_len_min", "Bwd Packet Length Min", "Bwd Packet Length Min", Float),
    BwdPktLenMean => ("Bwd Pkt Len Mean", "bwd_pkt_len_mean", "Bwd Packet Length Mean", "Bwd Packet Length Mean", Float),
    BwdPktLenStd => ("Bwd Pkt Len Std", "bwd_pkt_len_std", "Bwd Packet Length Std", "Bwd Packet Length Std", Float),
    FlowBytsS => ("Flow Byts/s", "flow_byts_s", "Flow Bytes/s", "Flow Bytes/s", Float),
    FlowPktsS => ("Flow Pkts/s", "flow_pkts_s", "Flow Packets/s", "Flow Packets/s", Float),
    FlowIatMean => ("Flow IAT Mean", "flow_iat_mean", "Flow IAT Mean", "Flow IAT Mean", Float),
    FlowIatStd => ("Flow IAT Std", "flow_iat_std", "Flow IAT Std", "Flow IAT Std", Float),
    FlowIatMax => ("Flow IAT Max", "flow_iat_max", "Flow IAT Max", "Flow IAT Max", Float),
    FlowIatMin => ("Flow IAT Min", "flow_iat_min", "Flow IAT Min", "Flow IAT Min", Float),
    FwdIatTot => ("Fwd IAT Tot", "fwd_iat_tot", "Fwd IAT Total", "Fwd IAT Total", Float),
    FwdIatMean => ("Fwd IAT Mean", "fwd_iat_mean", "Fwd IAT Mean", "Fwd IAT Mean", Float),
    FwdIatStd => ("Fwd IAT Std", "fwd_iat_std", "Fwd IAT Std", "Fwd IAT Std", Float),
    FwdIatMax => ("Fwd IAT Max", "fwd_iat_max", "Fwd IAT Max", "Fwd IAT Max", Float),
    FwdIatMin => ("Fwd IAT Min", "fwd_iat_min", "Fwd IAT Min", "Fwd IAT Min", Float),
    BwdIatTot => ("Bwd IAT Tot", "bwd_iat_tot", "Bwd IAT Total", "Bwd IAT Total", Float),
    BwdIatMean => ("Bwd IAT Mean", "bwd_iat_mean", "Bwd IAT Mean", "Bwd IAT Mean", Float),
    BwdIatStd => ("Bwd IAT Std", "bwd_iat_std", "Bwd IAT Std", "Bwd IAT Std", Float),
    BwdIatMax => ("Bwd IAT Max", "bwd_iat_max", "Bwd IAT Max", "Bwd IAT Max", Float),
    BwdIatMin => ("Bwd IAT Min", "bwd_iat_min", "Bwd IAT Min", "Bwd IAT Min", Float),
    FwdPshFlags => ("Fwd PSH Flags", "fwd_psh_flags", "Fwd PSH Flags", "Fwd PSH Flags", Int),
    BwdPshFlags => ("Bwd PSH Flags", "bwd_psh_flags", "Bwd PSH Flags", "Bwd PSH Flags", Int),
    FwdUrgFlags => ("Fwd URG Flags", "fwd_urg_flags", "Fwd URG Flags", "Fwd URG Flags", Int),
    BwdUrgFlags => ("Bwd URG Flags", "bwd_urg_flags", "Bwd URG Flags", "Bwd URG Flags", Int),
    FwdHeaderLen => ("Fwd Header Len", "fwd_header_len", "Fwd Header Length", "Fwd Header Length", Int),
    BwdHeaderLen => ("Bwd Header Len", "bwd_header_len", "Bwd Header Length", "Bwd Header Length", Int),
    FwdPktsS => ("Fwd Pkts/s", "fwd_pkts_s", "Fwd Packets/s", "Fwd Packets/s", Float),
    BwdPktsS => ("Bwd Pkts/s", "bwd_pkts_s", "Bwd Packets/s", "Bwd Packets/s", Float),
    PktLenMin => ("Pkt Len Min", "pkt_len_min", "Packet Length Min", "Min Packet Length", Float),
    PktLenMax => ("Pkt Len Max", "pkt_len_max", "Packet Length Max", "Max Packet Length", Float),
    PktLenMean => ("Pkt Len Mean", "pkt_len_mean", "Packet Length Mean", "Packet Length Mean", Float),
    PktLenStd => ("Pkt Len Std", "pkt_len_std", "Packet Length Std", "Packet Length Std", Float),
    PktLenVar => ("Pkt Len Var", "pkt_len_var", "Packet Length Variance", "Packet Length Variance", Float),
    FinFlagCnt => ("FIN Flag Cnt", "fin_flag_cnt", "FIN Flag Count", "FIN Flag Count", Int),
    SynFlagCnt => ("SYN Flag Cnt", "syn_flag_cnt", "SYN Flag Count", "SYN Flag Count", Int),
    RstFlagCnt => ("RST Flag Cnt", "rst_flag_cnt", "RST Flag Count", "RST Flag Count", Int),
    PshFlagCnt => ("PSH Flag Cnt", "psh_flag_cnt", "PSH Flag Count", "PSH Flag Count", Int),
    AckFlagCnt => ("ACK Flag Cnt", "ack_flag_cnt", "ACK Flag Count", "ACK Flag Count", Int),
    UrgFlagCnt => ("URG Flag Cnt", "urg_flag_cnt", "URG Flag Count", "URG Flag Count", Int),
    CweFlagCount => ("CWE Flag Count", "cwe_flag_count", "CWR Flag Count", "CWE Flag Count", Int),
    EceFlagCnt => ("ECE Flag Cnt", "ece_flag_cnt", "ECE Flag Count", "ECE Flag Count", Int),
    DownUpRatio => ("Down/Up Ratio", "down_up_ratio", "Down/Up Ratio", "Down/Up Ratio", Float),
    PktSizeAvg => ("Pkt Size Avg", "pkt_size_avg", "Average Packet Size", "Average Packet Size", Float),
    FwdSegSizeAvg => ("Fwd Seg Size Avg", "fwd_seg_size_avg", "Fwd Segment Size Avg", "Avg Fwd Segment Size", Float),
    BwdSegSizeAvg => ("Bwd Seg Size Avg", "bwd_seg_size_avg", "Bwd Segment Size Avg", "Avg Bwd Segment Size", Float),
    FwdBytsBAvg => ("Fwd Byts/b Avg", "fwd_byts_b_avg", "Fwd Bytes/Bulk Avg", "Fwd Avg Bytes/Bulk", Int),
    FwdPktsBAvg => ("Fwd Pkts/b Avg", "fwd_pkts_b_avg", "Fwd Packet/Bulk Avg", "Fwd Avg Packets/Bulk", Int),
    FwdBlkRateAvg => ("Fwd Blk Rate Avg", "fwd_blk_rate_avg", "Fwd Bulk Rate Avg", "Fwd Avg Bulk Rate", Int),
    BwdBytsBAvg => ("Bwd Byts/b Avg", "bwd_byts_b_avg", "Bwd Bytes/Bulk Avg", "Bwd Avg Bytes/Bulk", Int),
    BwdPktsBAvg => ("Bwd Pkts/b Avg", "bwd_pkts_b_avg", "Bwd Packet/Bulk Avg", "Bwd Avg Packets/Bulk", Int),
    BwdBlkRateAvg => ("Bwd Blk Rate Avg", "bwd_blk_rate_avg", "Bwd Bulk Rate Avg", "Bwd Avg Bulk Rate", Int),
    SubflowFwdPkts => ("Subflow Fwd Pkts", "subflow_fwd_pkts", "Subflow Fwd Packets", "Subflow Fwd Packets", Int),
    SubflowFwdByts => ("Subflow Fwd Byts", "subflow_fwd_byts", "Subflow Fwd Bytes", "Subflow Fwd Bytes", Int),
    SubflowBwdPkts => ("Subflow Bwd Pkts", "subflow_bwd_pkts", "Subflow Bwd Packets", "Subflow Bwd Packets", Int),
    SubflowBwdByts => ("Subflow Bwd Byts", "subflow_bwd_byts", "Subflow Bwd Bytes", "Subflow Bwd Bytes", Int),
    InitFwdWinByts => ("Init Fwd Win Byts", "init_fwd_win_byts", "FWD Init Win Bytes", "Init_Win_bytes_forward", Int),
    InitBwdWinByts => ("Init Bwd Win Byts", "init_bwd_win_byts", "Bwd Init Win Bytes", "Init_Win_bytes_backward", Int),
    FwdActDataPkts => ("Fwd Act Data Pkts", "fwd_act_data_pkts", "Fwd Act Data Pkts", "act_data_pkt_fwd", Int),
    FwdSegSizeMin => ("Fwd Seg Size Min", "fwd_seg_size_min", "Fwd Seg Size Min", "min_seg_size_forward", Int),
    ActiveMean => ("Active Mean", "active_mean", "Active Mean", "Active Mean", Float),
    ActiveStd => ("Active Std", "active_std", "Active Std", "Active Std", Float),
    ActiveMax => ("Active Max", "active_max", "Active Max", "Active Max", Float),
    ActiveMin => ("Active Min", "active_min", "Active Min", "Active Min", Float),
    IdleMean => ("Idle Mean", "idle_mean", "Idle Mean", "Idle Mean", Float),
    IdleStd => ("Idle Std", "idle_std", "Idle Std", "Idle Std", Float),
    IdleMax => ("Idle Max", "idle_max", "Idle Max", "Idle Max", Float),
    IdleMin => ("Idle Min", "idle_min", "Idle Min", "Idle Min", Float),
    // Only in the corrected mode / the 2022 improved release.
    FwdRstFlags => ("Fwd RST Flags", "fwd_rst_flags", "Fwd RST Flags", "Fwd RST Flags", Int),
    BwdRstFlags => ("Bwd RST Flags", "bwd_rst_flags", "Bwd RST Flags", "Bwd RST Flags", Int),
    IcmpCode => ("ICMP Code", "icmp_code", "ICMP Code", "ICMP Code", Int),
    IcmpType => ("ICMP Type", "icmp_type", "ICMP Type", "ICMP Type", Int),
    TotalTcpFlowTime => ("Total TCP Flow Time", "total_tcp_flow_time", "Total TCP Flow Time", "Total TCP Flow Time", Int),
}

/// Number of features in [`Feature::ALL`].
pub const NUM_FEATURES: usize = Feature::ALL.len();

/// The 78 features of the CSE-CIC-IDS2018 header (79 feature columns minus `Timestamp`, which is metadata,
/// and including `Dst Port` and `Protocol`), in file order.
pub const CIC2018_FEATURES: &[Feature] = {
    // Everything up to and including IdleMin.
    let all = Feature::ALL;
    let (head, _) = all.split_at(Feature::IdleMin as usize + 1);
    head
};

/// Features of the corrected mode, in the improved release's column order.
pub const CORRECTED_FEATURES: &[Feature] = &{
    use Feature::*;
    let mut out = [DstPort; NUM_FEATURES];
    let mut i = 0;
    let mut j = 0;
    // Improved order: …, Bwd URG Flags, Fwd RST Flags, Bwd RST Flags, Fwd Header Length, …,
    // Idle Min, ICMP Code, ICMP Type, Total TCP Flow Time.
    while i <= IdleMin as usize {
        out[j] = Feature::ALL[i];
        j += 1;
        if i == BwdUrgFlags as usize {
            out[j] = FwdRstFlags;
            out[j + 1] = BwdRstFlags;
            j += 2;
        }
        i += 1;
    }
    out[j] = IcmpCode;
    out[j + 1] = IcmpType;
    out[j + 2] = TotalTcpFlowTime;
    out
};

impl Feature {
    /// The snake_case name in a given mode. Only `CWE Flag Count` differs: the corrected mode counts
    /// CWR flags, and says so.
    pub fn snake_name(self, corrected: bool) -> &'static str {
        if corrected && self == Feature::CweFlagCount {
            "cwr_flag_count"
        } else {
            self.names().snake
        }
    }

    /// Look a feature up by its snake_case name (either mode's spelling).
    pub fn from_snake(name: &str) -> Option<Feature> {
        if name == "cwr_flag_count" {
            return Some(Feature::CweFlagCount);
        }
        Feature::ALL
            .iter()
            .copied()
            .find(|f| f.names().snake == name)
    }

    /// Whether the 2018 faithful mode can produce this feature at all.
    pub fn in_cic2018(self) -> bool {
        (self as usize) <= Feature::IdleMin as usize
    }

    /// Look a feature up by its snake_case name as `mode` spells it: `None` for a name of the other
    /// mode's spelling or a feature `mode` does not produce. Model bundles and the detector use it
    /// to refuse feature lists that do not match the extractor mode.
    pub fn from_snake_in(name: &str, mode: crate::Mode) -> Option<Feature> {
        let corrected = mode == crate::Mode::Corrected;
        let f = Feature::from_snake(name)?;
        let ok = f.snake_name(corrected) == name && (corrected || f.in_cic2018());
        ok.then_some(f)
    }

    /// The snake_case names of the features `mode` produces, in its canonical column order.
    pub fn snake_names(mode: crate::Mode) -> Vec<String> {
        let corrected = mode == crate::Mode::Corrected;
        crate::Layout::features(mode)
            .iter()
            .map(|f| f.snake_name(corrected).to_string())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_lists_have_expected_lengths() {
        // 79 CSE-CIC-IDS2018 feature columns minus Timestamp; plus 5 improved-only columns.
        assert_eq!(CIC2018_FEATURES.len(), 78);
        assert_eq!(NUM_FEATURES, 83);
        assert_eq!(CORRECTED_FEATURES.len(), 83);
        let bwd_urg = CORRECTED_FEATURES
            .iter()
            .position(|f| *f == Feature::BwdUrgFlags)
            .unwrap();
        assert_eq!(CORRECTED_FEATURES[bwd_urg + 1], Feature::FwdRstFlags);
        assert_eq!(CORRECTED_FEATURES[82], Feature::TotalTcpFlowTime);
    }

    #[test]
    fn snake_lookups_follow_the_mode() {
        use crate::Mode;
        let corrected = Feature::snake_names(Mode::Corrected);
        assert_eq!(corrected.len(), CORRECTED_FEATURES.len());
        assert_eq!(
            Feature::snake_names(Mode::Cic2018).len(),
            CIC2018_FEATURES.len()
        );
        for name in &corrected {
            assert!(
                Feature::from_snake_in(name, Mode::Corrected).is_some(),
                "{name}"
            );
        }
        assert_eq!(
            Feature::from_snake_in("cwr_flag_count", Mode::Corrected),
            Some(Feature::CweFlagCount)
        );
        // Each mode refuses the other's spelling, and 2018 mode the corrected-only columns.
        assert_eq!(
            Feature::from_snake_in("cwr_flag_count", Mode::Cic2018),
            None
        );
        assert_eq!(
            Feature::from_snake_in("cwe_flag_count", Mode::Corrected),
            None
        );
        let improved_only = CORRECTED_FEATURES[82].snake_name(true);
        assert_eq!(Feature::from_snake_in(improved_only, Mode::Cic2018), None);
        assert_eq!(
            Feature::from_snake_in("no_such_feature", Mode::Corrected),
            None
        );
    }

    #[test]
    fn names_are_unique_per_style() {
        use std::collections::HashSet;
        for style in 0..3 {
            let mut seen = HashSet::new();
            for f in Feature::ALL {
                let n = f.names();
                let name = [n.cic2018, n.snake, n.improved][style];
                assert!(seen.insert(name), "duplicate name {name}");
            }
        }
    }
}
