//! Recognising a CSV dialect from its header alone.
//!
//! Every header cell is looked up, whitespace- and case-insensitively, in the flow crate's feature
//! catalogue under all four naming styles, plus the few metadata columns the CIC files carry. The
//! extractor mode follows from the columns: the five corrected-only features (in any spelling) mean
//! `corrected`, their absence `cic2018`. No flags, and no guessing from row values.

use crate::error::DatasetError;
use mlids_flow::features::{Feature, CIC2018_FEATURES, CORRECTED_FEATURES};
use mlids_flow::Mode;
use std::collections::HashMap;
use std::path::Path;

/// What one source column is used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnRole {
    Feature(Feature),
    Timestamp,
    Label,
    /// The improved release's `Attempted Category` (`-1`: not attempted).
    AttemptedCategory,
    /// Read past: row index, `id`, flow identity (IPs, source port), CIC-IDS2017's second
    /// `Fwd Header Length`.
    Ignored,
}

/// Naming style a header was written in, for the card.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Cic2018,
    Snake,
    Improved,
    Cic2017,
    /// The widely used cleaned copy of CSE-CIC-IDS2018 (Kaggle, D'hooge et al.): CIC-IDS2017-style
    /// long names, six columns renamed, no Dst Port and no Timestamp.
    Cleaned,
}

/// The cleaned copy's own spellings; every other column of it uses a name of another style.
const CLEANED_NAMES: [(&str, Feature); 6] = [
    ("Fwd Packets Length Total", Feature::TotLenFwdPkts),
    ("Bwd Packets Length Total", Feature::TotLenBwdPkts),
    ("Avg Packet Size", Feature::PktSizeAvg),
    ("Init Fwd Win Bytes", Feature::InitFwdWinByts),
    ("Init Bwd Win Bytes", Feature::InitBwdWinByts),
    ("Fwd Act Data Packets", Feature::FwdActDataPkts),
];

/// A recognised header.
#[derive(Clone, Debug)]
pub struct HeaderMap {
    pub mode: Mode,
    /// Human-readable dialect name, recorded in the card.
    pub dialect: String,
    pub roles: Vec<ColumnRole>,
    /// The header cells as read (trimmed), to recognise repeated header lines.
    pub names: Vec<String>,
    /// `(source column, index into the mode's feature list)` for every feature present.
    pub features: Vec<(usize, usize)>,
    pub label: Option<usize>,
    pub timestamp: Option<usize>,
    pub attempted: Option<usize>,
    /// Features of the mode the file lacks and that are allowed to be missing (CIC-IDS2017's
    /// MachineLearningCVE files have no Protocol); they become null.
    pub absent: Vec<Feature>,
}

/// The features of a mode in canonical output order.
pub fn mode_features(mode: Mode) -> &'static [Feature] {
    match mode {
        Mode::Cic2018 => CIC2018_FEATURES,
        Mode::Corrected => CORRECTED_FEATURES,
    }
}

const CORRECTED_ONLY: [Feature; 5] = [
    Feature::FwdRstFlags,
    Feature::BwdRstFlags,
    Feature::IcmpCode,
    Feature::IcmpType,
    Feature::TotalTcpFlowTime,
];

/// Metadata header names (lowercased) that carry nothing we keep.
const IGNORED_META: &[&str] = &[
    "id",
    "flow id",
    "flow_id",
    "community id",
    "community_id",
    "src ip",
    "src_ip",
    "source ip",
    "src port",
    "src_port",
    "source port",
    "dst ip",
    "dst_ip",
    "destination ip",
    "unnamed: 0",
];

fn key(name: &str) -> String {
    name.trim_start_matches('\u{feff}').trim().to_lowercase()
}

/// Lowercased name in any style → feature, plus which styles use that spelling.
fn feature_table() -> &'static HashMap<String, (Feature, [bool; 5])> {
    use std::sync::OnceLock;
    static TABLE: OnceLock<HashMap<String, (Feature, [bool; 5])>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t: HashMap<String, (Feature, [bool; 5])> = HashMap::new();
        for &f in Feature::ALL {
            let n = f.names();
            let spellings = [n.cic2018, n.snake, n.improved, n.cic2017];
            for (style, name) in spellings.iter().enumerate() {
                let e = t.entry(key(name)).or_insert((f, [false; 5]));
                assert_eq!(e.0, f, "feature name {name} is used for two features");
                e.1[style] = true;
            }
        }
        for (name, f) in CLEANED_NAMES {
            let e = t.entry(key(name)).or_insert((f, [false; 5]));
            assert_eq!(e.0, f, "feature name {name} is used for two features");
            e.1[4] = true;
        }
        // The corrected mode's snake name for the CWR column.
        t.entry("cwr_flag_count".into())
            .or_insert((Feature::CweFlagCount, [false, true, false, false, false]));
        t
    })
}

/// Look a single header cell up as a feature in any dialect.
pub fn feature_by_name(name: &str) -> Option<Feature> {
    feature_table().get(&key(name)).map(|e| e.0)
}

impl HeaderMap {
    /// Recognise a header. `have_default_label`: a missing Label column is acceptable because the
    /// caller supplies one (unlabelled `ml-ids extract` output).
    pub fn recognise(
        path: &Path,
        header: &[String],
        have_default_label: bool,
    ) -> Result<HeaderMap, DatasetError> {
        let table = feature_table();
        let mut roles = Vec::with_capacity(header.len());
        let mut unknown = Vec::new();
        let mut seen: HashMap<Feature, usize> = HashMap::new();
        let mut votes = [0usize; 5];
        let (mut label, mut timestamp, mut attempted) = (None, None, None);
        let mut has_id = false;
        let mut has_index = false;
        for (i, raw) in header.iter().enumerate() {
            let k = key(raw);
            let role = if let Some(&(f, styles)) = table.get(&k) {
                for (v, s) in votes.iter_mut().zip(styles) {
                    *v += s as usize;
                }
                match seen.entry(f) {
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(i);
                        ColumnRole::Feature(f)
                    }
                    // CIC-IDS2017 writes Fwd Header Length twice; any other repeat is suspect.
                    std::collections::hash_map::Entry::Occupied(_)
                        if f == Feature::FwdHeaderLen =>
                    {
                        ColumnRole::Ignored
                    }
                    std::collections::hash_map::Entry::Occupied(_) => {
                        unknown.push(format!("{} (duplicate)", raw.trim()));
                        ColumnRole::Ignored
                    }
                }
            } else if k.is_empty() && i == 0 {
                has_index = true;
                ColumnRole::Ignored
            } else if k == "fwd header length.1" {
                ColumnRole::Ignored
            } else if IGNORED_META.contains(&k.as_str()) {
                has_id |= k == "id";
                ColumnRole::Ignored
            } else if k == "timestamp" && timestamp.is_none() {
                timestamp = Some(i);
                ColumnRole::Timestamp
            } else if k == "label" && label.is_none() {
                label = Some(i);
                ColumnRole::Label
            } else if (k == "attempted category" || k == "attempted_category")
                && attempted.is_none()
            {
                attempted = Some(i);
                ColumnRole::AttemptedCategory
            } else {
                unknown.push(if raw.trim().is_empty() {
                    format!("(empty name, column {})", i + 1)
                } else {
                    raw.trim().to_string()
                });
                ColumnRole::Ignored
            };
            roles.push(role);
        }
        // One of the cleaned copy's own spellings decides it: its other names are shared.
        let style = if votes[4] > 0 {
            Style::Cleaned
        } else {
            [
                Style::Cic2018,
                Style::Snake,
                Style::Improved,
                Style::Cic2017,
            ]
            .into_iter()
            .zip(votes)
            .max_by_key(|&(s, v)| (v, s == Style::Cic2018))
            .map(|(s, _)| s)
            .unwrap_or(Style::Cic2018)
        };
        let mode = if CORRECTED_ONLY.iter().any(|f| seen.contains_key(f)) {
            Mode::Corrected
        } else {
            Mode::Cic2018
        };
        let wanted = mode_features(mode);
        let mut missing = Vec::new();
        let mut absent = Vec::new();
        let mut features = Vec::with_capacity(wanted.len());
        for (out, &f) in wanted.iter().enumerate() {
            match seen.get(&f) {
                Some(&col) => features.push((col, out)),
                None if style.may_lack(f) => absent.push(f),
                None => missing.push(style_name(f, style, mode).to_string()),
            }
        }
        if label.is_none() && !have_default_label {
            missing.push("Label".to_string());
        }
        if !missing.is_empty() || !unknown.is_empty() {
            return Err(DatasetError::Header {
                path: path.to_path_buf(),
                mode: mode.as_str(),
                missing,
                unknown,
            });
        }
        let flow_ids = roles.len() > 3
            && header
                .iter()
                .any(|h| matches!(key(h).as_str(), "flow id" | "flow_id"));
        let dialect = match style {
            Style::Cic2018 if flow_ids => "cic2018 names with flow identity columns (CSE-CIC-IDS2018 84-column file or ml-ids extract)",
            Style::Cic2018 => "CSE-CIC-IDS2018",
            Style::Snake if has_index => "snake_case with index column (seed)",
            Style::Snake => "snake_case (ml-ids extract --names snake)",
            Style::Improved if has_id => "2022 improved release",
            Style::Improved => "improved names (ml-ids extract --names improved)",
            Style::Cic2017 => "CIC-IDS2017",
            Style::Cleaned => "CSE-CIC-IDS2018 cleaned copy (Kaggle)",
        }
        .to_string();
        Ok(HeaderMap {
            mode,
            dialect,
            roles,
            names: header.iter().map(|h| h.trim().to_string()).collect(),
            features,
            label,
            timestamp,
            attempted,
            absent,
        })
    }
}

impl Style {
    /// Features a published dialect leaves out; they become null rather than refusing the file.
    fn may_lack(self, f: Feature) -> bool {
        match self {
            Style::Cic2017 => f == Feature::Protocol,
            Style::Cleaned => f == Feature::DstPort,
            _ => false,
        }
    }
}

fn style_name(f: Feature, style: Style, mode: Mode) -> &'static str {
    match style {
        Style::Cleaned => CLEANED_NAMES
            .iter()
            .find(|(_, c)| *c == f)
            .map(|(n, _)| *n)
            .unwrap_or(f.names().cic2017),
        Style::Cic2018 => f.names().cic2018,
        Style::Snake => f.snake_name(mode == Mode::Corrected),
        Style::Improved => f.names().improved,
        Style::Cic2017 => f.names().cic2017,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlids_flow::{Layout, NameStyle};

    fn rec(h: &[&str]) -> Result<HeaderMap, DatasetError> {
        let h: Vec<String> = h.iter().map(|s| s.to_string()).collect();
        HeaderMap::recognise(Path::new("x.csv"), &h, false)
    }

    #[test]
    fn every_extract_layout_is_recognised_with_its_mode() {
        for mode in [Mode::Cic2018, Mode::Corrected] {
            for style in [NameStyle::Cic2018, NameStyle::Snake, NameStyle::Improved] {
                let h = Layout::new(mode, style, true).header();
                let m = rec(&h).unwrap_or_else(|e| panic!("{mode} {style}: {e}"));
                assert_eq!(m.mode, mode, "{style}");
                assert_eq!(m.features.len(), mode_features(mode).len());
                assert!(m.label.is_some() && m.timestamp.is_some());
            }
        }
    }

    #[test]
    fn cic2017_header_with_spaces_and_duplicate_column() {
        let mut h = vec![" Destination Port".to_string()];
        for &f in &CIC2018_FEATURES[2..] {
            h.push(format!(" {}", f.names().cic2017));
            if f == Feature::BwdSegSizeAvg {
                h.push(" Fwd Header Length".into());
            }
        }
        h.push(" Label".into());
        let m = HeaderMap::recognise(Path::new("x.csv"), &h, false).unwrap();
        assert_eq!(m.mode, Mode::Cic2018);
        assert_eq!(m.dialect, "CIC-IDS2017");
        assert_eq!(m.absent, vec![Feature::Protocol]);
    }

    #[test]
    fn cleaned_kaggle_copy_lacks_dst_port_and_has_its_own_names() {
        // The header of the cleaned CSE-CIC-IDS2018 copy, as published (77 features + Label).
        let line = "Protocol,Flow Duration,Total Fwd Packets,Total Backward Packets,Fwd Packets Length Total,Bwd Packets Length Total,Fwd Packet Length Max,Fwd Packet Length Min,Fwd Packet Length Mean,Fwd Packet Length Std,Bwd Packet Length Max,Bwd Packet Length Min,Bwd Packet Length Mean,Bwd Packet Length Std,Flow Bytes/s,Flow Packets/s,Flow IAT Mean,Flow IAT Std,Flow IAT Max,Flow IAT Min,Fwd IAT Total,Fwd IAT Mean,Fwd IAT Std,Fwd IAT Max,Fwd IAT Min,Bwd IAT Total,Bwd IAT Mean,Bwd IAT Std,Bwd IAT Max,Bwd IAT Min,Fwd PSH Flags,Bwd PSH Flags,Fwd URG Flags,Bwd URG Flags,Fwd Header Length,Bwd Header Length,Fwd Packets/s,Bwd Packets/s,Packet Length Min,Packet Length Max,Packet Length Mean,Packet Length Std,Packet Length Variance,FIN Flag Count,SYN Flag Count,RST Flag Count,PSH Flag Count,ACK Flag Count,URG Flag Count,CWE Flag Count,ECE Flag Count,Down/Up Ratio,Avg Packet Size,Avg Fwd Segment Size,Avg Bwd Segment Size,Fwd Avg Bytes/Bulk,Fwd Avg Packets/Bulk,Fwd Avg Bulk Rate,Bwd Avg Bytes/Bulk,Bwd Avg Packets/Bulk,Bwd Avg Bulk Rate,Subflow Fwd Packets,Subflow Fwd Bytes,Subflow Bwd Packets,Subflow Bwd Bytes,Init Fwd Win Bytes,Init Bwd Win Bytes,Fwd Act Data Packets,Fwd Seg Size Min,Active Mean,Active Std,Active Max,Active Min,Idle Mean,Idle Std,Idle Max,Idle Min,Label";
        let h: Vec<&str> = line.split(',').collect();
        let m = rec(&h).unwrap();
        assert_eq!(m.mode, Mode::Cic2018);
        assert_eq!(m.dialect, "CSE-CIC-IDS2018 cleaned copy (Kaggle)");
        assert_eq!(m.absent, vec![Feature::DstPort]);
        assert_eq!(m.features.len(), CIC2018_FEATURES.len() - 1);
        // The cleaned copy may lack only Dst Port: without Protocol it is refused.
        let e = rec(&h[1..]).unwrap_err().to_string();
        assert!(e.contains("missing columns [Protocol]"), "{e}");
    }

    #[test]
    fn unknown_header_names_missing_and_unknown_columns() {
        let mut h = Layout::new(Mode::Cic2018, NameStyle::Cic2018, true).header();
        h.retain(|c| *c != "Flow IAT Min");
        h.push("Bogus Column");
        let e = rec(&h).unwrap_err().to_string();
        assert!(
            e.contains("Flow IAT Min") && e.contains("Bogus Column"),
            "{e}"
        );
    }

    #[test]
    fn names_do_not_collide_across_styles() {
        // feature_table() asserts while building.
        assert_eq!(
            feature_by_name(" Init_Win_bytes_forward"),
            Some(Feature::InitFwdWinByts)
        );
        assert_eq!(
            feature_by_name("CWR Flag Count"),
            Some(Feature::CweFlagCount)
        );
    }
}
