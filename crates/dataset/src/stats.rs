//! `dataset stats`: the card as plain-text tables.

use crate::card::Card;
use std::fmt::Write;

/// Left-aligned text table; numeric-looking cells are right-aligned.
fn table(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    let mut w: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let line = |out: &mut String, cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            let pad = w[i] - c.chars().count();
            let numeric = !c.is_empty()
                && c.chars()
                    .all(|ch| ch.is_ascii_digit() || ch == '.' || ch == '%');
            if i > 0 {
                s.push_str("  ");
            }
            if numeric {
                s.push_str(&" ".repeat(pad));
                s.push_str(c);
            } else {
                s.push_str(c);
                s.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(out, header.to_vec());
    line(
        out,
        w.iter()
            .map(|&n| "-".repeat(n))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect(),
    );
    for r in rows {
        line(out, r.iter().map(String::as_str).collect());
    }
}

/// Render a card for humans.
pub fn render(card: &Card) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "mode: {}   schema version: {}   rows: {}   attempted rows: {}",
        card.mode, card.schema_version, card.rows, card.attempted_policy
    );
    let _ = writeln!(o, "created by: {}", card.created_by);
    o.push('\n');
    let split = card.split.as_ref();
    let mut header = vec!["label", "category", "attack", "rows", "share"];
    if split.is_some() {
        header.extend(["train", "val", "test"]);
    }
    let rows: Vec<Vec<String>> = card
        .labels
        .iter()
        .map(|l| {
            let mut r = vec![
                l.label.clone(),
                l.category.clone(),
                if l.is_attack { "yes" } else { "no" }.to_string(),
                l.rows.to_string(),
                format!("{:.3}%", 100.0 * l.rows as f64 / card.rows.max(1) as f64),
            ];
            if let Some(s) = split {
                let c = s.labels.get(&l.label).copied().unwrap_or_default();
                r.extend(c.iter().map(|n| n.to_string()));
            }
            r
        })
        .collect();
    table(&mut o, &header, &rows);
    if !card.unknown_labels.is_empty() {
        let _ = writeln!(o, "\nunknown labels (not in labels.csv, category Unknown):");
        for (l, n) in &card.unknown_labels {
            let _ = writeln!(o, "  {l}: {n}");
        }
    }
    if let Some(s) = split {
        let _ = writeln!(
            o,
            "\nsplit by {} (seed {}, ratios {}/{}/{}): train {}, val {}, test {}",
            s.by,
            s.seed,
            s.ratios[0],
            s.ratios[1],
            s.ratios[2],
            s.rows.get("train").unwrap_or(&0),
            s.rows.get("val").unwrap_or(&0),
            s.rows.get("test").unwrap_or(&0)
        );
        for (k, days) in &s.days {
            let _ = writeln!(o, "  {k} days: {}", days.join(", "));
        }
    }
    o.push_str("\nsources:\n");
    let rows: Vec<Vec<String>> = card
        .sources
        .iter()
        .map(|s| {
            let mut labels: Vec<(&String, &u64)> = s.rows_per_label.iter().collect();
            labels.sort_by(|a, b| b.1.cmp(a.1));
            let top: Vec<String> = labels
                .iter()
                .take(3)
                .map(|(l, n)| format!("{l}: {n}"))
                .collect();
            let more = if labels.len() > 3 {
                format!(" (+{} more)", labels.len() - 3)
            } else {
                String::new()
            };
            vec![
                s.file.clone(),
                s.dialect.clone(),
                s.mode.clone(),
                s.rows_written.to_string(),
                s.dropped.total().to_string(),
                s.sha256.chars().take(12).collect(),
                top.join(", ") + &more,
            ]
        })
        .collect();
    table(
        &mut o,
        &[
            "file", "dialect", "mode", "rows", "dropped", "sha256", "labels",
        ],
        &rows,
    );
    let d = &card.dropped;
    let _ = writeln!(
        o,
        "\ndropped rows: {} repeated header, {} unparseable, {} attempted",
        d.repeated_header, d.unparseable, d.attempted
    );
    for e in &card.errors {
        let _ = writeln!(o, "  {}:{}: {}", e.file, e.line, e.reason);
    }
    if card.errors_omitted > 0 {
        let _ = writeln!(o, "  … and {} more", card.errors_omitted);
    }
    let p = &card.cleaning.policy;
    let _ = writeln!(
        o,
        "\ncleaning: ±Infinity/NaN → {}; negatives → {}; −1 kept in {}",
        if p.nonfinite_to_null { "null" } else { "kept" },
        if p.negatives_to_null { "null" } else { "kept" },
        card.cleaning.minus_one_marker_columns.join(", ")
    );
    let rows: Vec<Vec<String>> = card
        .cleaning
        .columns
        .iter()
        .map(|(c, n)| {
            vec![
                c.clone(),
                n.pos_infinity.to_string(),
                n.neg_infinity.to_string(),
                n.nan.to_string(),
                n.negative.to_string(),
                n.empty.to_string(),
            ]
        })
        .collect();
    if rows.is_empty() {
        o.push_str("  nothing to clean\n");
    } else {
        table(
            &mut o,
            &["column", "+inf", "-inf", "nan", "negative", "empty"],
            &rows,
        );
    }
    o
}
