//! `POST /api/predictions`: classify feature rows sent as JSON or CSV.
//!
//! Accepted bodies (the seed's and MLflow's formats):
//! - `{"columns": [...], "data": [[...], ...]}` (pandas `split`, as the seed's client sends it with
//!   `Content-Type: application/json; format=pandas-split`; an `index` key is ignored);
//! - `{"dataframe_split": {"columns": [...], "data": [...]}}` and `{"dataframe_records": [{...}]}`
//!   (MLflow 2 serving);
//! - `[{"col": value, ...}, ...]` (pandas `records`);
//! - `text/csv` with a header row.
//!
//! The answer is a JSON array of 0/1 in input order, or with `?detail=true` (or
//! `Accept: application/vnd.mlids.detail+json`) one object per row with label, probability and the
//! top contributing features. Columns are matched by snake_case name (or any CIC header spelling);
//! columns the model does not use (the timestamp, a label) are ignored.

use crate::alert::Alert;
use crate::error::ApiError;
use crate::state::{AppState, ServedModel};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use mlids_flow::{Feature, Mode};
use mlids_model::{Detector, Explain};
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt;

/// One table cell, kept as small as possible: requests carry 80 of these per row.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Cell {
    Num(f64),
    Missing,
    /// A string that is not a number (a timestamp, a label).
    Text,
}

impl<'de> Deserialize<'de> for Cell {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Cell, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Cell;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number, a string or null")
            }
            fn visit_f64<E>(self, v: f64) -> Result<Cell, E> {
                Ok(Cell::Num(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Cell, E> {
                Ok(Cell::Num(v as f64))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Cell, E> {
                Ok(Cell::Num(v as f64))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Cell, E> {
                Ok(Cell::Num(if v { 1.0 } else { 0.0 }))
            }
            fn visit_str<E>(self, v: &str) -> Result<Cell, E> {
                Ok(parse_text(v))
            }
            fn visit_none<E>(self) -> Result<Cell, E> {
                Ok(Cell::Missing)
            }
            fn visit_unit<E>(self) -> Result<Cell, E> {
                Ok(Cell::Missing)
            }
        }
        d.deserialize_any(V)
    }
}

/// Numbers sent as strings, including the CIC CSVs' `Infinity`/`NaN` spellings.
fn parse_text(v: &str) -> Cell {
    let t = v.trim();
    if t.is_empty() {
        return Cell::Missing;
    }
    match t {
        "Infinity" | "inf" | "+Infinity" => Cell::Num(f64::INFINITY),
        "-Infinity" | "-inf" => Cell::Num(f64::NEG_INFINITY),
        "NaN" | "nan" => Cell::Num(f64::NAN),
        _ => t.parse::<f64>().map(Cell::Num).unwrap_or(Cell::Text),
    }
}

#[derive(Deserialize)]
struct Split {
    columns: Vec<String>,
    data: Vec<Vec<Cell>>,
    #[serde(default, rename = "index")]
    _index: Option<IgnoredAny>,
}

/// Every JSON object shape in one pass.
#[derive(Deserialize)]
struct Envelope {
    columns: Option<Vec<String>>,
    data: Option<Vec<Vec<Cell>>>,
    #[serde(default, rename = "index")]
    _index: Option<IgnoredAny>,
    dataframe_split: Option<Split>,
    dataframe_records: Option<Vec<Record>>,
}

/// One `records` row: column → cell.
struct Record(Vec<(String, Cell)>);

impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Record, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Record;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of column: value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Record, A::Error> {
                let mut v = Vec::with_capacity(m.size_hint().unwrap_or(80));
                while let Some((k, c)) = m.next_entry::<String, Cell>()? {
                    v.push((k, c));
                }
                Ok(Record(v))
            }
        }
        d.deserialize_map(V)
    }
}

/// Rows in column form, whatever the input shape.
struct Table {
    columns: Vec<String>,
    rows: Vec<Vec<Cell>>,
}

#[derive(Deserialize)]
pub struct PredictQuery {
    #[serde(default)]
    detail: Option<String>,
    /// A served model's name; by default the first served model of the rows' extractor mode.
    #[serde(default)]
    model: Option<String>,
    /// `false`: no alerts for the rows classified as attacks (bulk scoring).
    #[serde(default)]
    alerts: Option<String>,
}

pub async fn predict(
    State(state): State<AppState>,
    q: Result<Query<PredictQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body?;
    let Query(q) = q?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_ascii_lowercase();
    let detail = q
        .detail
        .as_deref()
        .is_some_and(|d| matches!(d, "true" | "1" | "yes"))
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("application/vnd.mlids.detail+json"));
    let table = if content_type.starts_with("text/csv") {
        parse_csv(&body)?
    } else if content_type.starts_with("application/json")
        || content_type.starts_with("application/") && content_type.contains("+json")
    {
        parse_json(&body)?
    } else {
        return Err(ApiError::UnsupportedMediaType(format!(
            "unsupported Content-Type '{content_type}': send application/json (pandas split or records, MLflow dataframe_split/dataframe_records) or text/csv"
        )));
    };
    let st = state.clone();
    // Parsing is done; classification is CPU work, so it leaves the async threads.
    let model = q.model;
    let alerts = !q
        .alerts
        .as_deref()
        .is_some_and(|a| matches!(a, "false" | "0" | "no"));
    let how = Answer { detail, alerts };
    tokio::task::spawn_blocking(move || classify(&st, table, model.as_deref(), how))
        .await
        .map_err(|e| ApiError::Internal(format!("prediction task failed: {e}")))?
}

fn parse_json(body: &[u8]) -> Result<Table, ApiError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let bad = |e: serde_json::Error| {
        ApiError::BadRequest(format!(
            "malformed JSON body at line {} column {}: {e}",
            e.line(),
            e.column()
        ))
    };
    if first == Some(b'[') {
        let records: Vec<Record> = serde_json::from_slice(body).map_err(bad)?;
        return Ok(records_table(records));
    }
    let env: Envelope = serde_json::from_slice(body).map_err(bad)?;
    match env {
        Envelope { columns: Some(columns), data: Some(rows), .. } => Ok(Table { columns, rows }),
        Envelope { dataframe_split: Some(s), .. } => Ok(Table { columns: s.columns, rows: s.data }),
        Envelope { dataframe_records: Some(r), .. } => Ok(records_table(r)),
        _ => Err(ApiError::BadRequest(
            "expected {\"columns\": [...], \"data\": [[...]]}, {\"dataframe_split\": {...}}, {\"dataframe_records\": [...]} or [{...}]".into(),
        )),
    }
}

/// Records may list columns in any order and omit some: union the names, fill gaps as missing.
fn records_table(records: Vec<Record>) -> Table {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut columns = Vec::new();
    for r in &records {
        for (k, _) in &r.0 {
            if !index.contains_key(k) {
                index.insert(k.clone(), columns.len());
                columns.push(k.clone());
            }
        }
    }
    let rows = records
        .into_iter()
        .map(|r| {
            let mut row = vec![Cell::Missing; columns.len()];
            for (k, c) in r.0 {
                row[index[&k]] = c;
            }
            row
        })
        .collect();
    Table { columns, rows }
}

fn parse_csv(body: &[u8]) -> Result<Table, ApiError> {
    let mut rdr = csv::ReaderBuilder::new().flexible(false).from_reader(body);
    let columns: Vec<String> = rdr
        .headers()
        .map_err(|e| ApiError::BadRequest(format!("CSV header: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let mut rows = Vec::new();
    for (i, rec) in rdr.byte_records().enumerate() {
        let rec = rec.map_err(|e| ApiError::BadRequest(format!("CSV line {}: {e}", i + 2)))?;
        rows.push(
            rec.iter()
                .map(|f| parse_text(&String::from_utf8_lossy(f)))
                .collect(),
        );
    }
    Ok(Table { columns, rows })
}

/// Model input index of a column name: the manifest's snake name or any CIC spelling of it.
/// The feature a request column names, in any spelling: either mode's snake name (the seed's
/// `cwe_flag_count` and the improved `cwr_flag_count` are one feature), the CSE-CIC-IDS2018
/// header, the improved header or the CIC-IDS2017 header.
fn column_feature(name: &str) -> Option<Feature> {
    let t = name.trim();
    Feature::from_snake(t).or_else(|| {
        Feature::ALL.iter().copied().find(|f| {
            let n = f.names();
            n.cic2018 == t || n.improved == t || n.cic2017 == t
        })
    })
}

/// The extractor mode rows come from: values in the corrected-only columns (Fwd/Bwd RST Flags,
/// ICMP Code/Type, Total TCP Flow Time) make corrected-mode rows; without them (absent or empty)
/// they are cic2018-mode rows (the seed's CSE-CIC-IDS2018 data).
fn rows_mode(table: &Table, features: &[Option<Feature>]) -> Mode {
    let corrected_only: Vec<usize> = (0..features.len())
        .filter(|&c| features[c].is_some_and(|f| !f.in_cic2018()))
        .collect();
    let has_corrected_values = table.rows.iter().any(|row| {
        corrected_only
            .iter()
            .any(|&c| matches!(row.get(c), Some(Cell::Num(v)) if v.is_finite()))
    });
    if has_corrected_values {
        Mode::Corrected
    } else {
        Mode::Cic2018
    }
}

/// The model for a request: the one named, else the first served for the rows' mode (the primary
/// when no rows tell). Rows of the other mode than the chosen model's are a 422 naming both,
/// never a silent wrong answer.
fn choose_model<'s>(
    state: &'s AppState,
    name: Option<&str>,
    request: Option<Mode>,
) -> Result<&'s ServedModel, ApiError> {
    let chosen = match (name, request) {
        (Some(n), _) => state.model(n).ok_or_else(|| {
            ApiError::NotFound(format!(
                "no model '{n}' is served (served: {})",
                state.model_list()
            ))
        })?,
        (None, Some(mode)) => state.model_for_mode(mode).unwrap_or(&state.models[0]),
        (None, None) => &state.models[0],
    };
    let model = chosen.detector.mode();
    let Some(request) = request.filter(|&r| r != model) else {
        return Ok(chosen);
    };
    let why = match request {
        Mode::Cic2018 => {
            "their corrected-mode columns (fwd_rst_flags, bwd_rst_flags, icmp_code, icmp_type, \
             total_tcp_flow_time) are absent or empty, so they are cic2018-mode rows \
             (CSE-CIC-IDS2018 / CICFlowMeter-V3 semantics)"
        }
        Mode::Corrected => {
            "they carry corrected-mode columns (Fwd/Bwd RST Flags, ICMP Code/Type, Total TCP \
             Flow Time), so they are corrected-mode rows (2022 improved CICFlowMeter semantics)"
        }
    };
    Err(ApiError::Unprocessable(format!(
        "the rows are {request}-mode features but the model '{}' is a {model}-mode model: {why}; \
         the same column means different things in the two modes, so the model would misread \
         them. Send {model}-mode features, or serve a {request}-mode bundle (served: {})",
        chosen.name,
        state.model_list()
    )))
}

/// How a prediction request is answered.
#[derive(Clone, Copy)]
struct Answer {
    /// Verdicts (label, probability, top features) instead of 0/1.
    detail: bool,
    /// Every attack row becomes an alert (WebSocket, bus), as the seed published each prediction.
    alerts: bool,
}

fn classify(
    state: &AppState,
    table: Table,
    model: Option<&str>,
    how: Answer,
) -> Result<Response, ApiError> {
    let features: Vec<Option<Feature>> = table.columns.iter().map(|c| column_feature(c)).collect();
    let request = (!table.rows.is_empty()).then(|| rows_mode(&table, &features));
    let chosen = choose_model(state, model, request)?;
    let detector = &chosen.detector;
    let names = detector.feature_names();
    let corrected = detector.mode() == Mode::Corrected;
    let map: Vec<Option<usize>> = features
        .iter()
        .map(|f| f.and_then(|f| names.iter().position(|n| n == f.snake_name(corrected))))
        .collect();
    // The service a row describes, for its alert (dst_port is no model feature).
    let column = |want: Feature| features.iter().position(|f| *f == Some(want));
    let service = (column(Feature::DstPort), column(Feature::Protocol));
    classify_mapped(state, chosen, table, Columns { map, service }, how)
}

/// Where a request's columns go: each column's index in the model's feature order, and the
/// columns holding the destination port and protocol (for alerts).
struct Columns {
    map: Vec<Option<usize>>,
    service: (Option<usize>, Option<usize>),
}

/// Rows into the model's feature order (`map`: each column's model index) and classified.
fn classify_mapped(
    state: &AppState,
    chosen: &ServedModel,
    table: Table,
    columns: Columns,
    how: Answer,
) -> Result<Response, ApiError> {
    let Columns { map, service } = columns;
    let detector: &Detector = &chosen.detector;
    let names = detector.feature_names();
    let nf = names.len();
    let mut present = vec![false; nf];
    for i in map.iter().flatten() {
        present[*i] = true;
    }
    let missing: Vec<&str> = names
        .iter()
        .zip(&present)
        .filter(|(_, p)| !**p)
        .map(|(n, _)| n.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "missing feature columns the model needs: {}",
            missing.join(", ")
        )));
    }
    let mut x = vec![f64::NAN; table.rows.len() * nf];
    for (r, row) in table.rows.iter().enumerate() {
        if row.len() != table.columns.len() {
            return Err(ApiError::BadRequest(format!(
                "row {r} has {} values but there are {} columns",
                row.len(),
                table.columns.len()
            )));
        }
        for (c, cell) in row.iter().enumerate() {
            let Some(i) = map[c] else { continue };
            x[r * nf + i] = match *cell {
                // Non-finite values are missing, as in training.
                Cell::Num(v) if v.is_finite() => v,
                Cell::Num(_) | Cell::Missing => f64::NAN,
                Cell::Text => {
                    return Err(ApiError::BadRequest(format!(
                        "row {r}, column '{}': not a number",
                        table.columns[c]
                    )));
                }
            };
        }
    }
    state.metrics.flows("api", table.rows.len() as u64);
    let explain = if how.detail {
        Explain::all(state.config.explain_top)
    } else {
        Explain::None
    };
    let verdicts = detector.classify_matrix(&x, explain)?;
    if how.alerts {
        let num = |row: &[Cell], c: Option<usize>| match c.and_then(|c| row.get(c)) {
            Some(Cell::Num(v)) => Some(*v),
            _ => None,
        };
        for ((x_row, row), v) in x.chunks_exact(nf.max(1)).zip(&table.rows).zip(&verdicts) {
            if v.is_attack {
                let row_service = (num(row, service.0), num(row, service.1));
                let source = "api:predictions";
                let alert = Alert::for_row(names, x_row, v, &chosen.name, source, row_service);
                state.publish(alert);
            }
        }
    }
    let mut answer = if how.detail {
        Json(verdicts).into_response()
    } else {
        let flags: Vec<u8> = verdicts.iter().map(|v| u8::from(v.is_attack)).collect();
        Json(flags).into_response()
    };
    // Which bundle answered, so a client of a multi-bundle server can tell without ?detail.
    if let Ok(name) = axum::http::HeaderValue::from_str(&chosen.name) {
        answer.headers_mut().insert(MODEL_HEADER, name);
    }
    Ok(answer)
}

/// Response header naming the bundle that classified the rows.
pub const MODEL_HEADER: &str = "x-mlids-model";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_parse_numbers_strings_and_nulls() {
        let t = parse_json(br#"{"columns":["a","b","c","d","e"],"data":[[1, "2.5", null, "Infinity", "21\/02\/2018 10:15:06"]]}"#).unwrap();
        assert_eq!(
            t.rows[0][..4],
            [
                Cell::Num(1.0),
                Cell::Num(2.5),
                Cell::Missing,
                Cell::Num(f64::INFINITY)
            ]
        );
        assert_eq!(t.rows[0][4], Cell::Text);
        let t = parse_json(br#"{"dataframe_records":[{"a":1},{"b":2}]}"#).unwrap();
        assert_eq!(t.columns, ["a", "b"]);
        assert_eq!(t.rows[1], [Cell::Missing, Cell::Num(2.0)]);
        assert!(parse_json(b"{\"columns\": [\"a\"]").is_err());
        assert!(parse_json(b"{\"nothing\": 1}").is_err());
        assert!(parse_json(br#"{"columns":["a"],"data":[[{"x":1}]]}"#).is_err());
    }

    #[test]
    fn csv_rows() {
        let t = parse_csv(b"a,b\n1,\n3,NaN\n").unwrap();
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0][1], Cell::Missing);
        assert!(parse_csv(b"a,b\n1\n").is_err());
    }
}
