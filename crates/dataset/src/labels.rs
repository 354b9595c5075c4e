//! Label mapping: every dialect's spelling of an attack to one canonical name and category.
//!
//! The table is data (`labels.csv`, embedded at build time) so that adding a dataset's spelling is a
//! one-line change reviewers can read without Rust. Keys are normalised (case and punctuation
//! ignored) because the same label exists as `Web Attack � Brute Force`, `Web Attack – Brute Force`
//! and `Web Attack - Brute Force` depending on the release and on how a file was re-encoded.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

/// The embedded mapping table.
pub const LABELS_CSV: &str = include_str!("../labels.csv");

/// Attack families shared by every dataset we read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    Benign,
    DoS,
    DDoS,
    BruteForce,
    WebAttack,
    Bot,
    Infiltration,
    PortScan,
    Heartbleed,
    /// A label missing from the table: kept verbatim so nothing is silently relabelled.
    Unknown,
}

impl Category {
    pub const ALL: [Category; 10] = [
        Category::Benign,
        Category::DoS,
        Category::DDoS,
        Category::BruteForce,
        Category::WebAttack,
        Category::Bot,
        Category::Infiltration,
        Category::PortScan,
        Category::Heartbleed,
        Category::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Benign => "Benign",
            Category::DoS => "DoS",
            Category::DDoS => "DDoS",
            Category::BruteForce => "BruteForce",
            Category::WebAttack => "WebAttack",
            Category::Bot => "Bot",
            Category::Infiltration => "Infiltration",
            Category::PortScan => "PortScan",
            Category::Heartbleed => "Heartbleed",
            Category::Unknown => "Unknown",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Category {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("unknown category '{s}'"))
    }
}

/// What to do with the improved release's `Attempted` rows: flows of an attack run that carried no
/// attack payload (a failed connection, a handshake only). Their features look like benign traffic,
/// so training them as attacks teaches the model noise; the default keeps them, flagged not-attack.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AttemptedPolicy {
    /// Keep as `<name> - Attempted`, category of the attack, `is_attack = false`.
    #[default]
    Benign,
    /// Keep as `<name> - Attempted`, category of the attack, `is_attack = true`.
    Attack,
    /// Drop the rows (counted in the card under `attempted`).
    Drop,
}

impl FromStr for AttemptedPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "benign" => Ok(AttemptedPolicy::Benign),
            "attack" => Ok(AttemptedPolicy::Attack),
            "drop" => Ok(AttemptedPolicy::Drop),
            o => Err(format!(
                "unknown attempted policy '{o}' (expected benign, attack or drop)"
            )),
        }
    }
}

impl fmt::Display for AttemptedPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AttemptedPolicy::Benign => "benign",
            AttemptedPolicy::Attack => "attack",
            AttemptedPolicy::Drop => "drop",
        })
    }
}

/// The result of mapping one source label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappedLabel {
    pub canonical: String,
    pub category: Category,
    pub is_attack: bool,
    /// The row was an `Attempted` one.
    pub attempted: bool,
    /// Not in the table.
    pub unknown: bool,
}

/// The parsed table.
#[derive(Clone, Debug)]
pub struct LabelMap {
    by_key: HashMap<String, (String, Category)>,
}

/// Lowercase alphanumeric words joined by single spaces: the comparison key for labels.
pub fn normalise(label: &str) -> String {
    let mut out = String::with_capacity(label.len());
    for word in label
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

impl LabelMap {
    /// The embedded table. Panics only if the file shipped in the crate is malformed, which the
    /// crate's own tests rule out.
    pub fn builtin() -> LabelMap {
        LabelMap::parse(LABELS_CSV).expect("embedded labels.csv is valid")
    }

    /// Parse a table in the `labels.csv` format (`#` comments, header `original,canonical,category`).
    pub fn parse(text: &str) -> Result<LabelMap, String> {
        let mut by_key = HashMap::new();
        let mut header_seen = false;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if !header_seen {
                if line != "original,canonical,category" {
                    return Err(format!(
                        "line {}: expected header original,canonical,category",
                        i + 1
                    ));
                }
                header_seen = true;
                continue;
            }
            let parts: Vec<&str> = line.split(',').map(str::trim).collect();
            let [original, canonical, category] = parts[..] else {
                return Err(format!("line {}: expected 3 fields", i + 1));
            };
            let category: Category = category
                .parse()
                .map_err(|e| format!("line {}: {e}", i + 1))?;
            let key = normalise(original);
            if let Some((c, cat)) = by_key.get(&key) {
                if c != canonical || *cat != category {
                    return Err(format!(
                        "line {}: '{original}' conflicts with an earlier entry",
                        i + 1
                    ));
                }
            }
            by_key.insert(key, (canonical.to_string(), category));
        }
        Ok(LabelMap { by_key })
    }

    /// Map a source label. `attempted_category` is the improved release's `Attempted Category`
    /// column (`-1` = not attempted), when the file has one.
    pub fn map(
        &self,
        label: &str,
        attempted_category: Option<&str>,
        policy: AttemptedPolicy,
    ) -> MappedLabel {
        let label = label.trim();
        let mut key = normalise(label);
        let mut attempted = attempted_category
            .map(str::trim)
            .is_some_and(|c| !c.is_empty() && c != "-1");
        if let Some(base) = key.strip_suffix(" attempted") {
            attempted = true;
            key = base.to_string();
        }
        match self.by_key.get(&key) {
            Some((canonical, category)) if attempted => MappedLabel {
                canonical: format!("{canonical} - Attempted"),
                category: *category,
                is_attack: policy == AttemptedPolicy::Attack && *category != Category::Benign,
                attempted: true,
                unknown: false,
            },
            Some((canonical, category)) => MappedLabel {
                canonical: canonical.clone(),
                category: *category,
                is_attack: *category != Category::Benign,
                attempted: false,
                unknown: false,
            },
            None => MappedLabel {
                canonical: label.to_string(),
                category: Category::Unknown,
                is_attack: key != "benign" && !(attempted && policy != AttemptedPolicy::Attack),
                attempted,
                unknown: true,
            },
        }
    }

    /// Every (original key, canonical, category) entry, for documentation and tests.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str, Category)> {
        self.by_key
            .iter()
            .map(|(k, (c, cat))| (k.as_str(), c.as_str(), *cat))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table_parses_and_maps_every_dialect() {
        let m = LabelMap::builtin();
        let p = AttemptedPolicy::Benign;
        let cases = [
            ("Benign", "Benign", Category::Benign),
            ("BENIGN", "Benign", Category::Benign),
            ("Infilteration", "Infiltration", Category::Infiltration),
            ("DoS Hulk", "DoS attacks-Hulk", Category::DoS),
            ("DoS attacks-Hulk", "DoS attacks-Hulk", Category::DoS),
            ("SSH-Patator", "SSH-Bruteforce", Category::BruteForce),
            ("SSH-BruteForce", "SSH-Bruteforce", Category::BruteForce),
            (
                "Web Attack \u{FFFD} Brute Force",
                "Brute Force -Web",
                Category::WebAttack,
            ),
            (
                "Web Attack \u{2013} XSS",
                "Brute Force -XSS",
                Category::WebAttack,
            ),
            (
                "Web Attack - SQL Injection",
                "SQL Injection",
                Category::WebAttack,
            ),
            ("Botnet Ares", "Bot", Category::Bot),
            ("DDoS-LOIC-UDP", "DDOS attack-LOIC-UDP", Category::DDoS),
            ("Portscan", "PortScan", Category::PortScan),
            ("Heartbleed", "Heartbleed", Category::Heartbleed),
            (
                "Infiltration - NMAP Portscan",
                "Infiltration - Portscan",
                Category::Infiltration,
            ),
        ];
        for (orig, canon, cat) in cases {
            let got = m.map(orig, None, p);
            assert_eq!(
                (got.canonical.as_str(), got.category),
                (canon, cat),
                "{orig}"
            );
            assert_eq!(got.is_attack, cat != Category::Benign);
            assert!(!got.unknown);
        }
    }

    #[test]
    fn attempted_rows_follow_the_policy() {
        let m = LabelMap::builtin();
        let a = m.map("DoS Hulk - Attempted", Some("3"), AttemptedPolicy::Benign);
        assert_eq!(a.canonical, "DoS attacks-Hulk - Attempted");
        assert_eq!(a.category, Category::DoS);
        assert!(a.attempted && !a.is_attack);
        let b = m.map("DoS Hulk", Some("2"), AttemptedPolicy::Attack);
        assert!(b.attempted && b.is_attack);
        assert_eq!(b.canonical, "DoS attacks-Hulk - Attempted");
        let c = m.map("DoS Hulk", Some("-1"), AttemptedPolicy::Benign);
        assert!(!c.attempted && c.is_attack);
    }

    #[test]
    fn unknown_labels_are_kept_verbatim() {
        let m = LabelMap::builtin();
        let u = m.map(" Zero-Day X ", None, AttemptedPolicy::Benign);
        assert_eq!(u.canonical, "Zero-Day X");
        assert_eq!(u.category, Category::Unknown);
        assert!(u.is_attack && u.unknown);
    }

    #[test]
    fn conflicting_entries_are_rejected() {
        let t = "original,canonical,category\nA,A,DoS\na,B,DoS\n";
        assert!(LabelMap::parse(t).is_err());
    }
}
