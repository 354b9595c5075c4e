//! Evaluation reports: JSON, a Markdown summary, and a self-contained HTML page with a PR curve and
//! a confusion-matrix heat map (plotters' SVG backend, inlined).

pub mod compare;

use crate::metrics::{BinaryMetrics, Evaluation};
use mlids_model::{ModelError, Result};
use plotters::prelude::*;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub(crate) fn fmt_opt(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |v| format!("{v:.4}"))
}

fn binary_row(name: &str, b: &BinaryMetrics) -> String {
    format!(
        "| {name} | {} | {} | {:.4} | {:.4} | {:.4} | {:.5} | {} | {} |\n",
        b.rows,
        b.attacks,
        b.precision,
        b.recall,
        b.f1,
        b.benign_fpr,
        fmt_opt(b.roc_auc),
        fmt_opt(b.pr_auc)
    )
}

/// A Markdown summary.
pub fn markdown(e: &Evaluation) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## Evaluation: {} ({} task, {} rows, threshold {:.4})\n",
        e.name, e.task, e.rows, e.threshold
    );
    s.push_str("### Attack vs benign\n\n| subset | rows | attacks | precision | recall | F1 | benign FPR | ROC-AUC | PR-AUC |\n|---|---|---|---|---|---|---|---|---|\n");
    s.push_str(&binary_row("all", &e.binary));
    if let Some(b) = &e.binary_without_infiltration {
        s.push_str(&binary_row("without Infiltration", b));
    }
    let t = &e.target_recall;
    let _ = writeln!(
        s,
        "\nThreshold for recall ≥ {}: {} (precision {:.4}, recall {:.4}, benign FPR {:.5}).\n",
        t.target,
        t.threshold.map_or("n/a".into(), |v| format!("{v:.6}")),
        t.precision,
        t.recall,
        t.benign_fpr
    );
    s.push_str("### Per class\n\n| class | precision | recall | F1 | support | predicted |\n|---|---|---|---|---|---|\n");
    for c in &e.classes {
        let _ = writeln!(
            s,
            "| {} | {:.4} | {:.4} | {:.4} | {} | {} |",
            c.label, c.precision, c.recall, c.f1, c.support, c.predicted
        );
    }
    let _ = writeln!(
        s,
        "| **macro** | {:.4} | {:.4} | {:.4} | | |\n\nAccuracy {:.4}.\n",
        e.macro_precision, e.macro_recall, e.macro_f1, e.accuracy
    );
    s.push_str("### Miss rate per original label\n\nFor attack labels the share of rows not flagged; for benign labels the share flagged (false positives).\n\n| original label | label | category | rows | wrong verdict | rate |");
    let multi = e.by_original_label.iter().any(|r| r.wrong_label.is_some());
    if multi {
        s.push_str(" wrong label |\n|---|---|---|---|---|---|---|\n");
    } else {
        s.push_str("\n|---|---|---|---|---|---|\n");
    }
    for r in &e.by_original_label {
        let _ = write!(
            s,
            "| {} | {} | {} | {} | {} | {:.4} |",
            r.label_original, r.label, r.category, r.rows, r.wrong_verdict, r.miss_rate
        );
        if let Some(w) = r.wrong_label {
            let _ = write!(s, " {w} |");
        }
        s.push('\n');
    }
    s.push_str("\n### Confusion matrix (rows: true, columns: predicted)\n\n| true \\ predicted |");
    for p in &e.confusion.predicted_labels {
        let _ = write!(s, " {p} |");
    }
    s.push_str("\n|---|");
    s.push_str(&"---|".repeat(e.confusion.predicted_labels.len()));
    s.push('\n');
    let rows: Vec<&String> = if e.task == mlids_model::Task::Binary {
        e.confusion.predicted_labels.iter().collect()
    } else {
        e.confusion.true_labels.iter().collect()
    };
    for (i, l) in rows.iter().enumerate() {
        let _ = write!(s, "| {l} |");
        for v in &e.confusion.counts[i] {
            let _ = write!(s, " {v} |");
        }
        s.push('\n');
    }
    s
}

pub(crate) fn plot_err<E: std::fmt::Debug>(e: E) -> ModelError {
    ModelError::Report(format!("{e:?}"))
}

/// The PR curve as an SVG document.
pub fn pr_curve_svg(e: &Evaluation) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (560, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let caption = format!("PR curve ({}), AP = {}", e.name, fmt_opt(e.binary.pr_auc));
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0.0f64..1.0f64, 0.0f64..1.02f64)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("recall")
            .y_desc("precision")
            .draw()
            .map_err(plot_err)?;
        chart
            .draw_series(LineSeries::new(
                e.pr_curve.iter().copied(),
                BLUE.stroke_width(2),
            ))
            .map_err(plot_err)?;
        let b = &e.binary;
        chart
            .draw_series(std::iter::once(Circle::new(
                (b.recall, b.precision),
                5,
                RED.filled(),
            )))
            .map_err(plot_err)?
            .label(format!("threshold {:.3}", e.threshold))
            .legend(|(x, y)| Circle::new((x, y), 4, RED.filled()));
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .position(SeriesLabelPosition::LowerLeft)
            .draw()
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

/// The confusion matrix as an SVG heat map, colour = share of the true row.
pub fn confusion_svg(e: &Evaluation) -> Result<String> {
    let c = &e.confusion;
    let true_labels: Vec<String> = if e.task == mlids_model::Task::Binary {
        c.predicted_labels.clone()
    } else {
        c.true_labels.clone()
    };
    let (nr, nc) = (true_labels.len(), c.predicted_labels.len());
    let cell = if nr.max(nc) > 20 { 22 } else { 40 };
    let left = 190;
    let top = 150;
    let w = (left + nc * cell + 20) as u32;
    let h = (top + nr * cell + 20) as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let font = ("sans-serif", 12).into_font();
        let small = ("sans-serif", if cell < 30 { 9 } else { 11 }).into_font();
        for (i, l) in true_labels.iter().enumerate() {
            let y = (top + i * cell + cell / 2) as i32;
            root.draw(&Text::new(truncate(l, 28), (6, y - 6), font.clone()))
                .map_err(plot_err)?;
        }
        for (j, l) in c.predicted_labels.iter().enumerate() {
            let x = (left + j * cell + cell / 2) as i32;
            let style = font.clone().transform(FontTransform::Rotate270);
            root.draw(&Text::new(truncate(l, 24), (x - 6, top as i32 - 6), style))
                .map_err(plot_err)?;
        }
        for i in 0..nr {
            let row = &c.counts[i];
            let total: u64 = row.iter().sum();
            for (j, &v) in row.iter().enumerate() {
                let share = if total == 0 {
                    0.0
                } else {
                    v as f64 / total as f64
                };
                let color = if i == j {
                    RGBColor(
                        255 - (share * 200.0) as u8,
                        255 - (share * 90.0) as u8,
                        255 - (share * 200.0) as u8,
                    )
                } else {
                    RGBColor(
                        255,
                        255 - (share * 200.0) as u8,
                        255 - (share * 200.0) as u8,
                    )
                };
                let (x0, y0) = ((left + j * cell) as i32, (top + i * cell) as i32);
                root.draw(&Rectangle::new(
                    [(x0, y0), (x0 + cell as i32, y0 + cell as i32)],
                    color.filled(),
                ))
                .map_err(plot_err)?;
                root.draw(&Rectangle::new(
                    [(x0, y0), (x0 + cell as i32, y0 + cell as i32)],
                    RGBColor(200, 200, 200),
                ))
                .map_err(plot_err)?;
                if v > 0 {
                    root.draw(&Text::new(
                        compact(v),
                        (x0 + 3, y0 + cell as i32 / 2 - 5),
                        small.clone(),
                    ))
                    .map_err(plot_err)?;
                }
            }
        }
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

fn compact(v: u64) -> String {
    match v {
        0..=9_999 => v.to_string(),
        10_000..=999_999 => format!("{:.0}k", v as f64 / 1e3),
        _ => format!("{:.1}M", v as f64 / 1e6),
    }
}

pub(crate) fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Minimal Markdown table → HTML conversion for the report body (tables, headings, paragraphs).
pub(crate) fn markdown_to_html(md: &str) -> String {
    let mut out = String::new();
    let mut in_table = false;
    let mut header_done = false;
    for line in md.lines() {
        if line.starts_with('|') {
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            if cells.iter().all(|c| c.chars().all(|ch| ch == '-')) {
                header_done = true;
                continue;
            }
            if !in_table {
                out.push_str("<table>\n");
                in_table = true;
                header_done = false;
            }
            let tag = if header_done { "td" } else { "th" };
            out.push_str("<tr>");
            for c in cells {
                let c = html_escape(c).replace("**", "");
                let _ = write!(out, "<{tag}>{c}</{tag}>");
            }
            out.push_str("</tr>\n");
            continue;
        }
        if in_table {
            out.push_str("</table>\n");
            in_table = false;
        }
        if let Some(h) = line.strip_prefix("### ") {
            let _ = writeln!(out, "<h3>{}</h3>", html_escape(h));
        } else if let Some(h) = line.strip_prefix("## ") {
            let _ = writeln!(out, "<h2>{}</h2>", html_escape(h));
        } else if !line.trim().is_empty() {
            let _ = writeln!(out, "<p>{}</p>", html_escape(line));
        }
    }
    if in_table {
        out.push_str("</table>\n");
    }
    out
}

/// A self-contained HTML page (no external resources).
pub fn html(e: &Evaluation, title: &str) -> Result<String> {
    let pr = pr_curve_svg(e)?;
    let cm = confusion_svg(e)?;
    let body = markdown_to_html(&markdown(e));
    Ok(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\n<style>\
body{{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}}\
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}\
th{{background:#f3f3f3}}td:first-child,th:first-child{{text-align:left}}.charts{{display:flex;flex-wrap:wrap;gap:2em;align-items:flex-start}}\
</style></head><body>\n<h1>{t}</h1>\n<div class=\"charts\"><div>{pr}</div><div><h3>Confusion matrix (row-normalised colour)</h3>{cm}</div></div>\n{body}</body></html>\n",
        t = html_escape(title)
    ))
}

/// The evaluation as pretty JSON.
pub fn json(e: &Evaluation) -> Result<String> {
    serde_json::to_string_pretty(e)
        .map(|s| s + "\n")
        .map_err(|e| ModelError::Report(e.to_string()))
}

/// Write `PREFIX.json`, `PREFIX.md` and `PREFIX.html`; returns the paths.
pub fn write_all(e: &Evaluation, prefix: &Path, title: &str) -> Result<Vec<PathBuf>> {
    let with = |ext: &str| {
        let mut p = prefix.as_os_str().to_owned();
        p.push(ext);
        PathBuf::from(p)
    };
    let out = [
        (with(".json"), json(e)?),
        (with(".md"), markdown(e)),
        (with(".html"), html(e, title)?),
    ];
    for (p, s) in &out {
        std::fs::write(p, s).map_err(|e| ModelError::io(p, e))?;
    }
    Ok(out.into_iter().map(|(p, _)| p).collect())
}
