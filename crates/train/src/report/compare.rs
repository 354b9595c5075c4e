//! The reports of `ml-ids compare`: `compare.json`, the Markdown and HTML tables and the
//! precision-recall chart, next to the training reports they share their helpers with.

use super::{fmt_opt, html_escape, markdown_to_html, plot_err};
use crate::compare::*;
use mlids_model::{ModelError, Result};
use plotters::prelude::*;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Write `compare.json`, `compare.md`, `compare.html` and `pr-curves.svg` into `out`.
pub fn write_reports(c: &Comparison, out: &Path) -> Result<Vec<PathBuf>> {
    let svg = pr_chart_svg(c)?;
    let md = markdown(c);
    let json = serde_json::to_string_pretty(c).map_err(|e| ModelError::Report(e.to_string()))?;
    let html = html(c, &md, &svg);
    let files = [
        ("compare.json", json + "\n"),
        ("compare.md", md),
        ("compare.html", html),
        ("pr-curves.svg", svg),
    ];
    let mut written = Vec::new();
    for (name, text) in files {
        let p = out.join(name);
        std::fs::write(&p, text).map_err(|e| ModelError::io(&p, e))?;
        written.push(p);
    }
    Ok(written)
}

fn f4(v: f64) -> String {
    format!("{v:.4}")
}

fn rate(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.0}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

/// The main comparison table (also what the README shows).
pub fn metrics_table(c: &Comparison) -> String {
    let mut s = String::new();
    let held = !c.holdout.is_empty();
    s.push_str("| model | precision | recall | F1 | benign FPR | ROC-AUC | PR-AUC |");
    if held {
        let _ = write!(s, " recall on held-out {} |", c.holdout.join("+"));
    }
    s.push_str(" threshold | train s | predict rows/s | µs per single row |\n|---|---|---|---|---|---|---|");
    if held {
        s.push_str("---|");
    }
    s.push_str("---|---|---|---|\n");
    for r in &c.models {
        let b = &r.test;
        let _ = write!(
            s,
            "| {} ({}) | {} | {} | {} | {} | {} | {} |",
            r.model,
            r.description,
            f4(b.precision),
            f4(b.recall),
            f4(b.f1),
            format_args!("{:.4}", b.benign_fpr),
            fmt_opt(b.roc_auc),
            fmt_opt(b.pr_auc)
        );
        if held {
            let _ = write!(
                s,
                " {} |",
                r.held_out.as_ref().map_or("n/a".into(), |h| format!(
                    "{:.4} ({}/{})",
                    h.recall, h.detected, h.rows
                ))
            );
        }
        let _ = writeln!(
            s,
            " {:.4} | {:.1} | {} | {:.0} |",
            r.threshold,
            r.train_seconds,
            rate(r.predict_rows_per_second),
            r.latency_us_per_row
        );
    }
    s
}

/// The hybrid table: each classifier alone and OR the autoencoder.
pub fn hybrid_table(c: &Comparison) -> String {
    let mut s = String::new();
    if c.hybrids.is_empty() {
        return s;
    }
    let held = !c.holdout.is_empty();
    s.push_str("| verdict | precision | recall | F1 | benign FPR | PR-AUC |");
    if held {
        let _ = write!(s, " recall on held-out {} |", c.holdout.join("+"));
    }
    s.push_str("\n|---|---|---|---|---|---|");
    if held {
        s.push_str("---|");
    }
    s.push('\n');
    for h in &c.hybrids {
        let Some(r) = c.models.iter().find(|r| r.model == h.classifier) else {
            continue;
        };
        for (name, b, ho) in [
            (format!("{} alone", r.model), &r.test, &r.held_out),
            (format!("{} OR ae", r.model), &h.test, &h.held_out),
        ] {
            let _ = write!(
                s,
                "| {name} | {} | {} | {} | {:.4} | {} |",
                f4(b.precision),
                f4(b.recall),
                f4(b.f1),
                b.benign_fpr,
                fmt_opt(b.pr_auc)
            );
            if held {
                let _ = write!(
                    s,
                    " {} |",
                    ho.as_ref().map_or("n/a".into(), |h| format!(
                        "{:.4} ({}/{})",
                        h.recall, h.detected, h.rows
                    ))
                );
            }
            s.push('\n');
        }
    }
    s
}

/// The full Markdown report.
pub fn markdown(c: &Comparison) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "## ml-ids model comparison\n");
    let _ = writeln!(
        s,
        "Data: {} ({} mode, {} task). Train {} rows, val {} rows, test {} rows ({} attacks). Created {} on {} threads.\n",
        c.data, c.mode, c.task, c.train_rows, c.val_rows, c.test_rows, c.test_attacks, c.created_at, c.threads
    );
    if c.holdout.is_empty() {
        s.push_str("No attack family was held out: every family in test was also in train.\n\n");
    } else {
        let _ = writeln!(
            s,
            "Held out of training and validation entirely: {}. The test metrics below include the held-out family's test rows (as attacks the models never saw); the held-out recall counts its rows from all three splits, none of which any model trained on.\n",
            c.holdout.join(", ")
        );
    }
    s.push_str("### Test metrics\n\n");
    s.push_str("Each model at its own threshold: 0.5 on the attack probability for the classifiers; for the autoencoder the largest threshold reaching its target recall on val. Train s is the wall time of fitting (with scaling and validation predictions); predict rows/s is one batch over the test rows; µs per single row is one row at a time, the serving path of a lone flow.\n\n");
    s.push_str(&metrics_table(c));
    if !c.hybrids.is_empty() {
        s.push_str("\n### Hybrid verdicts: classifier OR autoencoder\n\n");
        s.push_str("A flow is an attack when the classifier's score reaches its threshold or the autoencoder's anomaly score reaches its own. PR-AUC of the hybrid uses the larger of the two scores after mapping each threshold to 0.5.\n\n");
        s.push_str(&hybrid_table(c));
    }
    // Recall per category.
    let mut cats: Vec<&String> = c.models.iter().flat_map(|r| r.by_category.keys()).collect();
    cats.sort();
    cats.dedup();
    if !cats.is_empty() {
        s.push_str("\n### Test recall per attack category\n\n| model |");
        for cat in &cats {
            let held = c.holdout.iter().any(|h| h.eq_ignore_ascii_case(cat));
            let _ = write!(s, " {cat}{} |", if held { " (held out)" } else { "" });
        }
        s.push_str("\n|---|");
        s.push_str(&"---|".repeat(cats.len()));
        s.push('\n');
        for r in &c.models {
            let _ = write!(s, "| {} |", r.model);
            for cat in &cats {
                let _ = write!(
                    s,
                    " {} |",
                    r.by_category
                        .get(*cat)
                        .map_or("n/a".into(), |v| format!("{:.3} ({})", v.recall, v.rows))
                );
            }
            s.push('\n');
        }
    }
    s.push_str("\n### Training\n\n| model | engine | iterations / epochs run | kept | stop | threshold rule | bundle bytes |\n|---|---|---|---|---|---|---|\n");
    for r in &c.models {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {:?} | {} | {} |",
            r.model,
            r.engine,
            r.fit.iterations_run,
            r.fit.best_iteration,
            r.fit.stop_reason,
            r.threshold_rule,
            r.bundle_bytes.map_or("n/a".into(), |b| b.to_string())
        );
    }
    s.push_str("\n### The seed's numbers, for reference\n\n");
    s.push_str("The seed project reported these on the full CSE-CIC-IDS2018 validation split (original CICFlowMeter-V3 features, millions of rows). That split is not on this machine, so they are not reproduced here and are not directly comparable with the table above, which is measured on a few thousand test rows of a different, smaller sample.\n\n");
    s.push_str("| seed model | PR-AUC / AP | precision | recall |\n|---|---|---|---|\n");
    for (name, ap, p, r) in SEED_REFERENCE {
        let f = |v: &Option<f64>| v.map_or("–".into(), |v| format!("{v}"));
        let _ = writeln!(s, "| {name} | {} | {} | {} |", f(ap), f(p), f(r));
    }
    s.push_str("\n### Training rows per label\n\n| label | rows |\n|---|---|\n");
    for (l, n) in &c.train_labels {
        let _ = writeln!(s, "| {l} | {n} |");
    }
    s
}

const COLOURS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// Every model's PR curve in one SVG chart, with each model's operating point.
pub fn pr_chart_svg(c: &Comparison) -> Result<String> {
    let min_p = c
        .models
        .iter()
        .flat_map(|r| r.pr_curve.iter().map(|p| p.1))
        .fold(1.0f64, f64::min);
    let lo = ((min_p * 20.0).floor() / 20.0).clamp(0.0, 0.95);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 520)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let caption = if c.holdout.is_empty() {
            "PR curves on the test rows".to_string()
        } else {
            format!(
                "PR curves on the test rows ({} held out)",
                c.holdout.join("+")
            )
        };
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0f64..1.0f64, lo..1.005f64)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("recall")
            .y_desc("precision")
            .draw()
            .map_err(plot_err)?;
        for (i, r) in c.models.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            chart
                .draw_series(LineSeries::new(
                    r.pr_curve.iter().copied(),
                    colour.stroke_width(2),
                ))
                .map_err(plot_err)?
                .label(format!("{} (AP {})", r.model, fmt_opt(r.test.pr_auc)))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                });
            chart
                .draw_series(std::iter::once(Circle::new(
                    (r.test.recall, r.test.precision.max(lo)),
                    4,
                    colour.filled(),
                )))
                .map_err(plot_err)?;
        }
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE.mix(0.85))
            .position(SeriesLabelPosition::LowerLeft)
            .draw()
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

fn html(c: &Comparison, md: &str, svg: &str) -> String {
    let title = format!("ml-ids model comparison — {}", c.data);
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\n<style>\
body{{font-family:system-ui,sans-serif;margin:2em;max-width:1300px;color:#222}}\
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}\
th{{background:#f3f3f3}}td:first-child,th:first-child{{text-align:left}}\
</style></head><body>\n<h1>{t}</h1>\n<div>{svg}</div>\n<p>Dots: each model's operating point (its decision threshold).</p>\n{body}</body></html>\n",
        t = html_escape(&title),
        body = markdown_to_html(md)
    )
}
