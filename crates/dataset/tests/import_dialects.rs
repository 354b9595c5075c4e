//! Import of every dialect: the real files in ../shared/data, and crafted files for the shapes and
//! defects the real sample does not contain.

mod common;

use common::*;
use mlids_dataset::import::DATA_FILE;
use mlids_dataset::{DatasetError, ImportOptions, NoProgress};
use mlids_flow::{Feature, Mode, NameStyle};
use std::path::PathBuf;

#[test]
fn real_cleaned_kaggle_copy_and_merged_category_labels() {
    let Some(d) = shared_data() else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let card = import(
        &[d.join("cic-ids2018-cleaned/dhoogla_bruteforce-wed-14-02_sample.csv")],
        t.path(),
    )
    .unwrap();
    assert_eq!(card.mode, "cic2018");
    assert_eq!(card.rows, 6053);
    assert_eq!(
        card.sources[0].dialect,
        "CSE-CIC-IDS2018 cleaned copy (Kaggle)"
    );
    let rows = |l: &str| card.labels.iter().find(|x| x.label == l).map(|x| x.rows);
    assert_eq!(rows("SSH-Bruteforce"), Some(3000));
    assert_eq!(rows("FTP-BruteForce"), Some(53));
    assert_eq!(rows("Benign"), Some(3000));
    // The copy has no Dst Port: every value is null, not 0.
    let port = col_f64(&t.path().join(DATA_FILE), "dst_port");
    assert!(port.iter().all(|v| v.is_none()));
    // A re-published sample whose labels are merged categories ("DoS", "Brute Force").
    let t = tempfile::tempdir().unwrap();
    let card = import(
        &[d.join("cic-ids2018/original/adrinpaudel_batch_2.csv")],
        t.path(),
    )
    .unwrap();
    assert!(card.unknown_labels.is_empty(), "{:?}", card.unknown_labels);
    let dos = card.labels.iter().find(|x| x.label == "DoS").unwrap();
    assert_eq!((dos.rows, dos.category.as_str()), (52, "DoS"));
}

#[test]
fn real_seed_snake_file_with_index_column() {
    let Some(d) = shared_data() else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let card = import(
        &[d.join("cic-ids2018/original/ml-ids_validation.csv")],
        t.path(),
    )
    .unwrap();
    assert_eq!(card.mode, "cic2018");
    assert_eq!(card.rows, 180);
    assert_eq!(
        card.sources[0].dialect,
        "snake_case with index column (seed)"
    );
    assert_eq!(card.labels.len(), 15);
    let infil = card
        .labels
        .iter()
        .find(|l| l.label == "Infiltration")
        .unwrap();
    assert_eq!(infil.rows, 10);
    assert_eq!(infil.originals.get("Infilteration"), Some(&10));
    assert_eq!(
        card.labels
            .iter()
            .find(|l| l.label == "Benign")
            .unwrap()
            .rows,
        40
    );
    assert!(card.unknown_labels.is_empty());
    // The seed's file has Infinity rates and negative durations: cleaned to null and counted.
    let fb = &card.cleaning.columns["flow_byts_s"];
    assert!(fb.pos_infinity > 0);
    let dur = col_f64(&t.path().join(DATA_FILE), "flow_duration");
    assert_eq!(
        dur.iter().filter(|v| v.is_none()).count() as u64,
        card.cleaning.columns["flow_duration"].negative
    );
    assert!(dur.iter().flatten().all(|v| *v >= 0.0));
    // Init Win −1 markers survive.
    assert!(col_f64(&t.path().join(DATA_FILE), "init_fwd_win_byts").contains(&Some(-1.0)));
    assert_eq!(card.sources[0].sha256.len(), 64);
}

#[test]
fn real_improved_releases_are_corrected_mode() {
    let Some(d) = shared_data() else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let card = import(
        &[
            d.join("cic-ids2018/improved"),
            d.join("cic-ids2017/improved_rnd_2500"),
        ],
        t.path(),
    )
    .unwrap();
    assert_eq!(card.mode, "corrected");
    assert_eq!(card.rows, 5000 + 25127);
    assert_eq!(card.sources.len(), 17);
    assert!(card
        .sources
        .iter()
        .all(|s| s.dialect == "2022 improved release"));
    let rows = |l: &str| card.labels.iter().find(|x| x.label == l).map(|x| x.rows);
    assert_eq!(rows("Benign"), Some(5000));
    assert_eq!(rows("DoS attacks-Hulk"), Some(1275 + 2500));
    assert_eq!(rows("Bot"), Some(101 + 736));
    assert_eq!(rows("SSH-Bruteforce"), Some(67 + 2500));
    assert_eq!(rows("Brute Force -Web"), Some(73));
    assert_eq!(rows("Heartbleed"), Some(11));
    assert!(card.unknown_labels.is_empty(), "{:?}", card.unknown_labels);
    let p = t.path().join(DATA_FILE);
    let info = mlids_dataset::open_dataset(&p).unwrap();
    assert_eq!(info.mode, Mode::Corrected);
    assert_eq!(info.features.len(), 83);
    assert!(col_str(&p, "day")
        .iter()
        .flatten()
        .any(|d| d == "2018-03-02"));
    // ICMP −1 markers are kept in corrected mode.
    assert!(col_f64(&p, "icmp_code").contains(&Some(-1.0)));
    let cats = col_str(&p, "category");
    let atk = col_bool(&p, "is_attack");
    for (c, a) in cats.iter().zip(&atk) {
        assert_eq!(c.as_deref() != Some("Benign"), a.unwrap());
    }
}

#[test]
fn real_files_of_both_modes_are_refused_together() {
    let Some(d) = shared_data() else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("mixed");
    let e = import(&[d.join("cic-ids2018")], &out).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, DatasetError::MixedModes { .. }), "{msg}");
    assert!(msg.contains("ml-ids_validation.csv: cic2018 mode"), "{msg}");
    assert!(
        msg.contains("ae-gmm-nids_toy_dataset.csv: corrected mode"),
        "{msg}"
    );
    assert!(!out.join(DATA_FILE).exists());
}

#[test]
fn crafted_mixed_modes_are_refused() {
    let t = tempfile::tempdir().unwrap();
    let a = t.path().join("a.csv");
    let b = t.path().join("b.csv");
    let mut c = Craft::new(Mode::Cic2018, NameStyle::Cic2018, true);
    c.rows("Benign", "16/02/2018 01:47:37", 3, 0);
    c.write(&a);
    let mut c = Craft::new(Mode::Corrected, NameStyle::Snake, false);
    c.rows("Benign", "2018-02-16 13:47:37.000000", 3, 0);
    c.write(&b);
    let e = import(&[a, b], &t.path().join("out"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("a.csv: cic2018 mode") && e.contains("b.csv: corrected mode"),
        "{e}"
    );
}

#[test]
fn cse_cic_ids2018_80_columns_with_repeated_headers_infinity_and_truncated_line() {
    let t = tempfile::tempdir().unwrap();
    let p = t
        .path()
        .join("Friday-16-02-2018_TrafficForML_CICFlowMeter.csv");
    let mut c = Craft::new(Mode::Cic2018, NameStyle::Cic2018, true);
    assert_eq!(c.header().len(), 80);
    c.rows("Benign", "16/02/2018 01:47:37", 5, 0);
    c.lines.push(c.lines[0].clone()); // repeated header mid-file
    c.row("DoS attacks-Hulk", "16/02/2018 01:47:38", |f| match f {
        Feature::FlowBytsS => "Infinity".into(),
        Feature::FlowPktsS => "NaN".into(),
        Feature::FlowIatMin => "-5".into(),
        Feature::InitBwdWinByts => "-1".into(),
        _ => "2".into(),
    });
    c.row("Infilteration", "16/02/2018 01:47:39", |f| {
        if f == Feature::FwdIatMin {
            "abc".into()
        } else {
            "3".into()
        }
    });
    let mut text = c.text();
    text.push_str("0,6,16/02/2018 01:47:40,12"); // truncated last line, no newline
    std::fs::write(&p, text).unwrap();

    let card = import(std::slice::from_ref(&p), &t.path().join("out")).unwrap();
    let d = t.path().join("out").join(DATA_FILE);
    assert_eq!(card.rows, 6);
    assert_eq!(card.sources[0].dialect, "CSE-CIC-IDS2018");
    assert_eq!(card.dropped.repeated_header, 1);
    assert_eq!(card.dropped.unparseable, 2);
    let lines: Vec<u64> = card.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![9, 10]);
    assert!(
        card.errors[0].reason.contains("Fwd IAT Min"),
        "{:?}",
        card.errors
    );
    assert!(
        card.errors[1]
            .reason
            .contains("expected 80 fields, found 4"),
        "{:?}",
        card.errors
    );
    let cl = &card.cleaning.columns;
    assert_eq!(cl["flow_byts_s"].pos_infinity, 1);
    assert_eq!(cl["flow_pkts_s"].nan, 1);
    assert_eq!(cl["flow_iat_min"].negative, 1);
    assert!(!cl.contains_key("init_bwd_win_byts"));
    let hulk = 5; // row index of the Hulk row in the output
    assert_eq!(col_f64(&d, "flow_byts_s")[hulk], None);
    assert_eq!(col_f64(&d, "flow_pkts_s")[hulk], None);
    assert_eq!(col_f64(&d, "flow_iat_min")[hulk], None);
    assert_eq!(col_f64(&d, "init_bwd_win_byts")[hulk], Some(-1.0));
    assert_eq!(col_f64(&d, "flow_duration")[hulk], Some(2.0));
    assert_eq!(col_i64(&d, "source_line")[hulk], Some(8));
    assert_eq!(col_str(&d, "day")[0].as_deref(), Some("2018-02-16"));
    assert_eq!(
        col_str(&d, "label")[hulk].as_deref(),
        Some("DoS attacks-Hulk")
    );
    assert_eq!(
        col_str(&d, "source")[0].as_deref(),
        Some("Friday-16-02-2018_TrafficForML_CICFlowMeter.csv")
    );
}

#[test]
fn tuesday_84_column_shape() {
    let t = tempfile::tempdir().unwrap();
    let p = t
        .path()
        .join("Thuesday-20-02-2018_TrafficForML_CICFlowMeter.csv");
    let mut c = Craft::new(Mode::Cic2018, NameStyle::Cic2018, false);
    assert_eq!(c.header().len(), 84);
    assert_eq!(
        &c.header()[..4],
        &["Flow ID", "Src IP", "Src Port", "Dst IP"]
    );
    c.rows("DDoS attacks-LOIC-HTTP", "20/02/2018 10:00:00", 4, 100);
    c.write(&p);
    let card = import(&[p], &t.path().join("out")).unwrap();
    assert_eq!(card.rows, 4);
    assert_eq!(card.mode, "cic2018");
    let d = t.path().join("out").join(DATA_FILE);
    assert_eq!(
        col_f64(&d, "flow_duration"),
        vec![Some(100.0), Some(101.0), Some(102.0), Some(103.0)]
    );
    assert_eq!(
        col_f64(&d, "dst_port")[0],
        Some(1.0),
        "Dst Port must not be confused with Src Port"
    );
    assert_eq!(col_str(&d, "category")[0].as_deref(), Some("DDoS"));
}

#[test]
fn cic_ids2017_spaces_duplicate_column_and_broken_byte_labels() {
    let t = tempfile::tempdir().unwrap();
    let p = t
        .path()
        .join("Thursday-WorkingHours-Morning-WebAttacks.pcap_ISCX.csv");
    // The MachineLearningCVE header: leading spaces, no Protocol/Timestamp, Fwd Header Length twice.
    let mut header = vec![" Destination Port".to_string()];
    for &f in &mlids_flow::features::CIC2018_FEATURES[2..] {
        header.push(format!(" {}", f.names().cic2017));
        if f == Feature::BwdSegSizeAvg {
            header.push(" Fwd Header Length".into());
        }
    }
    header.push(" Label".into());
    let n = header.len();
    let mut bytes = header.join(",").into_bytes();
    bytes.push(b'\n');
    for (i, label) in [
        &b"BENIGN"[..],
        b"Web Attack \x96 Brute Force",
        b"Web Attack \x96 XSS",
        b"Web Attack \x96 Sql Injection",
    ]
    .iter()
    .enumerate()
    {
        let cells: Vec<String> = (0..n - 1)
            .map(|c| {
                if c == 1 {
                    (1000 + i).to_string()
                } else {
                    "80".into()
                }
            })
            .collect();
        bytes.extend_from_slice(cells.join(",").as_bytes());
        bytes.push(b',');
        bytes.extend_from_slice(label);
        bytes.push(b'\n');
    }
    std::fs::write(&p, bytes).unwrap();
    let card = import(&[p], &t.path().join("out")).unwrap();
    assert_eq!(card.sources[0].dialect, "CIC-IDS2017");
    assert_eq!(card.sources[0].absent_columns, vec!["protocol"]);
    assert_eq!(card.rows, 4);
    assert!(card.unknown_labels.is_empty(), "{:?}", card.unknown_labels);
    let d = t.path().join("out").join(DATA_FILE);
    let labels: Vec<String> = col_str(&d, "label").into_iter().flatten().collect();
    assert_eq!(
        labels,
        [
            "Benign",
            "Brute Force -Web",
            "Brute Force -XSS",
            "SQL Injection"
        ]
    );
    assert_eq!(
        col_str(&d, "label_original")[1].as_deref(),
        Some("Web Attack \u{FFFD} Brute Force")
    );
    assert_eq!(col_f64(&d, "protocol"), vec![None; 4]);
    assert_eq!(col_f64(&d, "flow_duration")[3], Some(1003.0));
    assert_eq!(col_i64(&d, "timestamp_us"), vec![None; 4]);
}

#[test]
fn improved_attempted_rows_follow_the_policy() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("improved.csv");
    // The improved release: `id` first, `Attempted Category` last.
    let mut c = Craft::new(Mode::Corrected, NameStyle::Improved, false);
    c.lines[0] = format!("id,{},Attempted Category", c.lines[0]);
    c.rows("DoS Hulk", "2018-02-16 13:47:37.250000", 1, 0);
    c.rows("DoS Hulk - Attempted", "2018-02-16 13:47:38.000000", 1, 1);
    c.rows("DoS Hulk", "2018-02-16 13:47:39.000000", 1, 2);
    c.rows("BENIGN", "2018-02-16 13:47:40.000000", 1, 3);
    for (i, cat) in ["-1", "2", "3", "-1"].iter().enumerate() {
        let l = &mut c.lines[i + 1];
        *l = format!("{i},{l},{cat}");
    }
    c.write(&p);
    let run = |policy: &str| {
        let out = t.path().join(policy);
        let opts = ImportOptions {
            attempted: policy.parse().unwrap(),
            ..Default::default()
        };
        let card =
            mlids_dataset::import(std::slice::from_ref(&p), &out, &opts, &mut NoProgress).unwrap();
        (card, out.join(DATA_FILE))
    };
    let (card, d) = run("benign");
    assert_eq!(card.rows, 4);
    assert_eq!(card.sources[0].dialect, "2022 improved release");
    let labels: Vec<String> = col_str(&d, "label").into_iter().flatten().collect();
    assert_eq!(
        labels,
        [
            "DoS attacks-Hulk",
            "DoS attacks-Hulk - Attempted",
            "DoS attacks-Hulk - Attempted",
            "Benign"
        ]
    );
    assert_eq!(
        col_bool(&d, "is_attack"),
        vec![Some(true), Some(false), Some(false), Some(false)]
    );
    assert_eq!(col_str(&d, "category")[1].as_deref(), Some("DoS"));
    assert_eq!(col_i64(&d, "timestamp_us")[0], Some(1_518_788_857_250_000));
    let (_, d) = run("attack");
    assert_eq!(
        col_bool(&d, "is_attack"),
        vec![Some(true), Some(true), Some(true), Some(false)]
    );
    let (card, d) = run("drop");
    assert_eq!(card.rows, 2);
    assert_eq!(card.dropped.attempted, 2);
    assert_eq!(col_f64(&d, "flow_duration"), vec![Some(0.0), Some(3.0)]);
}

#[test]
fn empty_file_is_recorded_and_skipped() {
    let t = tempfile::tempdir().unwrap();
    let empty = t.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    let ok = t.path().join("ok.csv");
    let mut c = Craft::new(Mode::Cic2018, NameStyle::Snake, true);
    c.rows("Benign", "16/02/2018 01:47:37", 2, 0);
    c.write(&ok);
    let card = import(&[empty.clone(), ok], &t.path().join("out")).unwrap();
    assert_eq!(card.rows, 2);
    assert_eq!(card.sources[0].dialect, "empty");
    assert!(card.sources[0].note.is_some());
    // Only empty files: nothing to import, a clear error.
    let e = import(&[empty], &t.path().join("out2"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("empty"), "{e}");
}

#[test]
fn header_only_file_gives_an_empty_dataset() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("h.csv");
    Craft::new(Mode::Corrected, NameStyle::Improved, false).write(&p);
    let card = import(&[p], &t.path().join("out")).unwrap();
    assert_eq!(card.rows, 0);
    let info = mlids_dataset::open_dataset(&t.path().join("out").join(DATA_FILE)).unwrap();
    assert_eq!((info.mode, info.rows), (Mode::Corrected, 0));
}

#[test]
fn unknown_header_names_missing_and_unknown_columns() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("weird.csv");
    let c = Craft::new(Mode::Cic2018, NameStyle::Cic2018, true);
    let header: Vec<&str> = c
        .header()
        .into_iter()
        .filter(|h| *h != "Idle Max")
        .chain(["Mystery"])
        .collect();
    std::fs::write(&p, header.join(",") + "\n").unwrap();
    let out = t.path().join("out");
    let e = import(&[p], &out).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, DatasetError::Header { .. }));
    assert!(
        msg.contains("weird.csv")
            && msg.contains("missing columns [Idle Max]")
            && msg.contains("unknown columns [Mystery]"),
        "{msg}"
    );
    assert!(!out.join(DATA_FILE).exists());
}

#[test]
fn extract_output_with_community_ids_imports() {
    // `ml-ids extract --community-id` adds a Community ID column after Flow ID: an identifier the
    // dataset does not keep, like Flow ID itself.
    let t = tempfile::tempdir().unwrap();
    for style in [NameStyle::Improved, NameStyle::Snake] {
        let p = t.path().join(format!("cid-{style}.csv"));
        let mut c = Craft::new(Mode::Corrected, style, false);
        c.layout.community_id = true;
        c.lines[0] = c.header().join(",");
        c.rows("Benign", "2018-02-16 01:47:37.000000", 3, 10);
        c.write(&p);
        let card = import(&[p], &t.path().join(format!("out-{style}"))).unwrap();
        assert_eq!((card.mode.as_str(), card.rows), ("corrected", 3));
        let d = t.path().join(format!("out-{style}")).join(DATA_FILE);
        assert_eq!(col_f64(&d, "flow_duration")[0], Some(10.0));
    }
}

#[test]
fn unlabelled_extract_output_needs_a_default_label() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("nolabel.csv");
    let mut c = Craft::new(Mode::Cic2018, NameStyle::Cic2018, false);
    c.layout.with_label = false;
    c.lines[0] = c.header().join(",");
    c.rows("", "16/02/2018 01:47:37", 2, 0);
    c.write(&p);
    assert!(import(std::slice::from_ref(&p), &t.path().join("a"))
        .unwrap_err()
        .to_string()
        .contains("missing columns [Label]"));
    let opts = ImportOptions {
        default_label: Some("Benign".into()),
        ..Default::default()
    };
    let card = mlids_dataset::import(&[p], &t.path().join("b"), &opts, &mut NoProgress).unwrap();
    assert_eq!(card.labels[0].label, "Benign");
    assert_eq!(card.rows, 2);
}

#[test]
fn unknown_labels_are_kept_and_counted() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("u.csv");
    let mut c = Craft::new(Mode::Cic2018, NameStyle::Cic2018, true);
    c.rows("Benign", "16/02/2018 01:47:37", 1, 0);
    c.rows("Zero Day", "16/02/2018 01:47:37", 2, 0);
    c.write(&p);
    let card = import(&[p], &t.path().join("out")).unwrap();
    assert_eq!(card.unknown_labels.get("Zero Day"), Some(&2));
    let z = card.labels.iter().find(|l| l.label == "Zero Day").unwrap();
    assert_eq!((z.category.as_str(), z.is_attack), ("Unknown", true));
}

#[test]
fn cleaning_can_be_turned_off() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("c.csv");
    let mut c = Craft::new(Mode::Cic2018, NameStyle::Cic2018, true);
    c.row("Benign", "16/02/2018 01:47:37", |f| match f {
        Feature::FlowBytsS => "Infinity".into(),
        Feature::FlowIatMin => "-7".into(),
        _ => "1".into(),
    });
    c.write(&p);
    let opts = ImportOptions {
        cleaning: mlids_dataset::CleaningPolicy {
            nonfinite_to_null: false,
            negatives_to_null: false,
        },
        ..Default::default()
    };
    let card = mlids_dataset::import(&[p], &t.path().join("out"), &opts, &mut NoProgress).unwrap();
    let d = t.path().join("out").join(DATA_FILE);
    assert_eq!(col_f64(&d, "flow_byts_s")[0], Some(f64::INFINITY));
    assert_eq!(col_f64(&d, "flow_iat_min")[0], Some(-7.0));
    assert_eq!(card.cleaning.columns["flow_iat_min"].negative, 1);
}

#[test]
fn no_temporary_files_are_left_and_reimport_replaces_splits() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("a.csv");
    let mut c = Craft::new(Mode::Cic2018, NameStyle::Cic2018, true);
    c.rows("Benign", "16/02/2018 01:47:37", 20, 0);
    c.write(&p);
    let out = t.path().join("out");
    import(std::slice::from_ref(&p), &out).unwrap();
    mlids_dataset::split(&out, None, &Default::default()).unwrap();
    assert!(out.join("train.parquet").exists());
    import(&[p], &out).unwrap();
    let names: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let mut names: Vec<String> = names
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["card.json", "data.parquet"]);
}
