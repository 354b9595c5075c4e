//! Request bodies into rows: every shape `POST /api/predictions` and `POST /invocations` accept,
//! parsed once into a [`Table`] so that both endpoints classify through the same code.
//!
//! JSON bodies (exactly one of these shapes, as MLflow's scoring server insists, so a body can
//! never be read two ways):
//! - `{"columns": [...], "data": [[...], ...]}` — pandas `split`, the seed's client (MLflow 1);
//!   an `index` key is ignored;
//! - `{"dataframe_split": {"columns": [...], "data": [...]}}`, `{"dataframe_records": [{...}]}` —
//!   MLflow 2/3;
//! - `{"instances": ...}`, `{"inputs": ...}` — MLflow's TensorFlow-serving shapes: rows as
//!   objects, rows as arrays in the model's own feature order, or `{"column": [values...]}`;
//! - `[{"col": value, ...}, ...]` — pandas `records` (MLflow 1).
//!
//! MLflow's `params` object may sit beside any of them; see [`Params`]. `text/csv` bodies need a
//! header row.

use crate::error::ApiError;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;

/// One table cell, kept as small as possible: requests carry 80 of these per row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Cell {
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

/// Rows in column form, whatever the input shape.
pub(super) struct Table {
    /// Column names; empty when `positional`.
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// The rows name no columns (MLflow `instances`/`inputs` as arrays of arrays): their values
    /// are in the answering model's feature order, as a numpy array is to an MLflow model.
    pub positional: bool,
}

impl Table {
    fn named(columns: Vec<String>, rows: Vec<Vec<Cell>>) -> Table {
        Table {
            columns,
            rows,
            positional: false,
        }
    }
}

/// Per-request choices carried in the body, as MLflow clients send them (`"params": {...}`
/// beside the data; MLflow hands them to the model's `predict`). Unknown keys are ignored, as
/// MLflow ignores params a model does not declare. The query string wins over these.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Params {
    /// A served bundle's name (`?model=`).
    pub model: Option<String>,
    /// `false`: no alerts for attack rows (`?alerts=`).
    pub alerts: Option<bool>,
    /// Verdict objects instead of plain predictions (`?detail=`).
    pub detail: Option<bool>,
}

impl Params {
    fn from_json(map: Map<String, Value>) -> Result<Params, ApiError> {
        let flag = |key: &str| match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => flag_value(v).map(Some).ok_or_else(|| {
                ApiError::BadRequest(format!("params.{key} must be true or false, not {v}"))
            }),
        };
        let model = match map.get("model") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(v) => {
                return Err(ApiError::BadRequest(format!(
                    "params.model must be a served model's name, not {v}"
                )))
            }
        };
        Ok(Params {
            model,
            alerts: flag("alerts")?,
            detail: flag("detail")?,
        })
    }
}

/// A yes/no given as JSON `true`/`false` or as the query string's spellings.
fn flag_value(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => parse_flag(s),
        _ => None,
    }
}

/// The query string's yes/no spellings.
pub(super) fn parse_flag(s: &str) -> Option<bool> {
    match s {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// A parsed request body.
pub(super) struct Body {
    pub table: Table,
    pub params: Params,
}

/// Parse a body by its `Content-Type` (already lower-cased).
pub(super) fn parse(content_type: &str, body: &[u8]) -> Result<Body, ApiError> {
    if content_type.starts_with("text/csv") {
        let table = parse_csv(body)?;
        return Ok(Body {
            table,
            params: Params::default(),
        });
    }
    let json = content_type.starts_with("application/json")
        || content_type.starts_with("application/") && content_type.contains("+json");
    if !json {
        return Err(ApiError::UnsupportedMediaType(format!(
            "unsupported Content-Type '{content_type}': send application/json (pandas split or \
             records, MLflow dataframe_split/dataframe_records/instances/inputs) or text/csv"
        )));
    }
    parse_json(body)
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
    instances: Option<TfInput>,
    inputs: Option<TfInput>,
    params: Option<Map<String, Value>>,
}

const SHAPES: &str = "expected exactly one of {\"columns\": [...], \"data\": [[...]]}, \
     {\"dataframe_split\": {...}}, {\"dataframe_records\": [...]}, {\"instances\": [...]}, \
     {\"inputs\": ...} or [{...}]";

impl Envelope {
    /// How many of the data shapes the body holds: one is a request, none or several are not.
    fn shapes(&self) -> usize {
        [
            self.columns.is_some() || self.data.is_some(),
            self.dataframe_split.is_some(),
            self.dataframe_records.is_some(),
            self.instances.is_some(),
            self.inputs.is_some(),
        ]
        .into_iter()
        .filter(|&present| present)
        .count()
    }

    fn into_table(self, body_len: usize) -> Result<Table, ApiError> {
        match self {
            Envelope {
                columns: Some(columns),
                data: Some(rows),
                ..
            } => Ok(Table::named(columns, rows)),
            Envelope {
                dataframe_split: Some(s),
                ..
            } => Ok(Table::named(s.columns, s.data)),
            Envelope {
                dataframe_records: Some(r),
                ..
            } => records_table(r, body_len),
            Envelope {
                instances: Some(t), ..
            }
            | Envelope {
                inputs: Some(t), ..
            } => t.into_table(body_len),
            _ => Err(ApiError::BadRequest(SHAPES.into())),
        }
    }
}

/// One `records` row: column → cell.
struct Record(Vec<(String, Cell)>);

impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Record, D::Error> {
        d.deserialize_map(RecordVisitor)
    }
}

struct RecordVisitor;

impl<'de> Visitor<'de> for RecordVisitor {
    type Value = Record;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of column: value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Record, A::Error> {
        // Grown from the data, never reserved ahead of it: `[{}, {}, …]` must cost what it weighs.
        let mut v = Vec::new();
        while let Some((k, c)) = m.next_entry::<String, Cell>()? {
            v.push((k, c));
        }
        Ok(Record(v))
    }
}

/// MLflow's TensorFlow-serving input (`instances` or `inputs`): a list of rows, or one list of
/// values per column. Decided by the JSON itself, without buffering the body.
enum TfInput {
    Rows(Vec<TfRow>),
    Columns(Vec<(String, Vec<Cell>)>),
}

/// A TensorFlow-serving row: an object of column: value, or values in the model's order.
enum TfRow {
    Named(Record),
    Positional(Vec<Cell>),
}

impl<'de> Deserialize<'de> for TfInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TfInput, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TfInput;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of rows or an object of column: [values]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<TfInput, A::Error> {
                let mut rows = Vec::with_capacity(s.size_hint().unwrap_or(0));
                while let Some(r) = s.next_element::<TfRow>()? {
                    rows.push(r);
                }
                Ok(TfInput::Rows(rows))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<TfInput, A::Error> {
                let mut cols = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, Vec<Cell>>()? {
                    cols.push((k, v));
                }
                Ok(TfInput::Columns(cols))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for TfRow {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TfRow, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TfRow;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a row: an object of column: value, or a list of values")
            }
            fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<TfRow, A::Error> {
                RecordVisitor.visit_map(m).map(TfRow::Named)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<TfRow, A::Error> {
                let mut cells = Vec::new();
                while let Some(c) = s.next_element::<Cell>()? {
                    cells.push(c);
                }
                Ok(TfRow::Positional(cells))
            }
        }
        d.deserialize_any(V)
    }
}

impl TfInput {
    fn into_table(self, body_len: usize) -> Result<Table, ApiError> {
        match self {
            TfInput::Columns(cols) => columns_table(cols),
            TfInput::Rows(rows) => rows_table(rows, body_len),
        }
    }
}

/// `{"column": [values...]}`: every column the same length (MLflow checks the same).
fn columns_table(cols: Vec<(String, Vec<Cell>)>) -> Result<Table, ApiError> {
    let n = cols.first().map_or(0, |(_, v)| v.len());
    if let Some((name, v)) = cols.iter().find(|(_, v)| v.len() != n) {
        return Err(ApiError::BadRequest(format!(
            "column '{name}' has {} values but '{}' has {n}: every column needs one value per row",
            v.len(),
            cols[0].0
        )));
    }
    let rows = (0..n)
        .map(|r| cols.iter().map(|(_, v)| v[r]).collect())
        .collect();
    Ok(Table::named(
        cols.into_iter().map(|(k, _)| k).collect(),
        rows,
    ))
}

/// A list of rows: all objects (named columns) or all arrays (the model's feature order).
fn rows_table(rows: Vec<TfRow>, body_len: usize) -> Result<Table, ApiError> {
    if rows.iter().all(|r| matches!(r, TfRow::Named(_))) {
        let records = rows
            .into_iter()
            .filter_map(|r| match r {
                TfRow::Named(rec) => Some(rec),
                TfRow::Positional(_) => None,
            })
            .collect();
        return records_table(records, body_len);
    }
    let rows: Option<Vec<Vec<Cell>>> = rows
        .into_iter()
        .map(|r| match r {
            TfRow::Positional(cells) => Some(cells),
            TfRow::Named(_) => None,
        })
        .collect();
    let rows = rows.ok_or_else(|| {
        ApiError::BadRequest("the rows mix objects and arrays: send one kind".into())
    })?;
    Ok(Table {
        columns: Vec::new(),
        rows,
        positional: true,
    })
}

fn parse_json(body: &[u8]) -> Result<Body, ApiError> {
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
        return Ok(Body {
            table: records_table(records, body.len())?,
            params: Params::default(),
        });
    }
    let mut env: Envelope = serde_json::from_slice(body).map_err(bad)?;
    if env.shapes() != 1 {
        return Err(ApiError::BadRequest(SHAPES.into()));
    }
    let params = env.params.take().map(Params::from_json).transpose()?;
    Ok(Body {
        table: env.into_table(body.len())?,
        params: params.unwrap_or_default(),
    })
}

/// Cells a table may hold per byte of body (plus [`CELLS_SLACK`]): a cell written in a body costs
/// at least one byte, so only records that omit columns could exceed it — and they must not make
/// a small body into a large table.
const CELLS_PER_BODY_BYTE: usize = 1;
const CELLS_SLACK: usize = 4096;

/// Refuse a table larger than its body justifies (see [`CELLS_PER_BODY_BYTE`]).
pub(super) fn check_size(rows: usize, columns: usize, body_len: usize) -> Result<(), ApiError> {
    let cells = rows.saturating_mul(columns.max(1));
    let budget = body_len.saturating_mul(CELLS_PER_BODY_BYTE) + CELLS_SLACK;
    if cells > budget {
        return Err(ApiError::PayloadTooLarge(format!(
            "{rows} rows × {columns} columns is {cells} cells from a {body_len}-byte body: records              that omit most columns would be expanded far beyond what was sent; send every column              in every record, or use dataframe_split"
        )));
    }
    Ok(())
}

/// Records may list columns in any order and omit some: union the names, fill gaps as missing.
fn records_table(records: Vec<Record>, body_len: usize) -> Result<Table, ApiError> {
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
    check_size(records.len(), columns.len(), body_len)?;
    for (i, r) in records.iter().enumerate() {
        if let Some(dup) = duplicates(r.0.iter().map(|(k, _)| k.as_str())).first() {
            return Err(ApiError::BadRequest(format!(
                "record {i} names column '{dup}' twice: which value is meant is unknowable"
            )));
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
    Ok(Table::named(columns, rows))
}

/// The names that occur more than once, each listed once, in the order they repeat.
pub(super) fn duplicates<'a>(names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = std::collections::HashSet::new();
    let mut repeated = Vec::new();
    for n in names {
        if !seen.insert(n) && !repeated.contains(&n) {
            repeated.push(n);
        }
    }
    repeated
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
    Ok(Table::named(columns, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(body: &[u8]) -> Table {
        parse_json(body).unwrap().table
    }

    #[test]
    fn cells_parse_numbers_strings_and_nulls() {
        let t = table(br#"{"columns":["a","b","c","d","e"],"data":[[1, "2.5", null, "Infinity", "21\/02\/2018 10:15:06"]]}"#);
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
        let t = table(br#"{"dataframe_records":[{"a":1},{"b":2}]}"#);
        assert_eq!(t.columns, ["a", "b"]);
        assert_eq!(t.rows[1], [Cell::Missing, Cell::Num(2.0)]);
        assert!(parse_json(b"{\"columns\": [\"a\"]").is_err());
        assert!(parse_json(b"{\"nothing\": 1}").is_err());
        assert!(parse_json(br#"{"columns":["a"],"data":[[{"x":1}]]}"#).is_err());
    }

    #[test]
    fn tensorflow_serving_shapes() {
        let t = table(br#"{"instances":[{"a":1,"b":2},{"b":3}]}"#);
        assert_eq!(t.columns, ["a", "b"]);
        assert!(!t.positional);
        assert_eq!(t.rows[1], [Cell::Missing, Cell::Num(3.0)]);
        let t = table(br#"{"inputs":{"a":[1,2],"b":[3,4]}}"#);
        assert_eq!(
            t.rows,
            [
                [Cell::Num(1.0), Cell::Num(3.0)],
                [Cell::Num(2.0), Cell::Num(4.0)]
            ]
        );
        let t = table(br#"{"inputs":[[1,2],[3,null]]}"#);
        assert!(t.positional && t.columns.is_empty());
        assert_eq!(t.rows[1], [Cell::Num(3.0), Cell::Missing]);
        assert!(parse_json(br#"{"inputs":{"a":[1,2],"b":[3]}}"#).is_err());
        assert!(parse_json(br#"{"instances":[{"a":1},[2]]}"#).is_err());
        assert!(parse_json(br#"{"inputs":[1,2]}"#).is_err());
    }

    #[test]
    fn exactly_one_shape_and_params() {
        let both = br#"{"inputs":[[1]],"dataframe_split":{"columns":["a"],"data":[[1]]}}"#;
        assert!(parse_json(both).is_err(), "ambiguous bodies are refused");
        let b = parse_json(br#"{"inputs":[[1]],"params":{"model":"seed","alerts":false,"x":1}}"#)
            .unwrap();
        let want = Params {
            model: Some("seed".into()),
            alerts: Some(false),
            detail: None,
        };
        assert_eq!(b.params, want);
        assert!(parse_json(br#"{"inputs":[[1]],"params":{"alerts":"maybe"}}"#).is_err());
        assert!(parse_json(br#"{"inputs":[[1]],"params":{"model":3}}"#).is_err());
    }

    #[test]
    fn csv_rows() {
        let t = parse_csv(b"a,b\n1,\n3,NaN\n").unwrap();
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0][1], Cell::Missing);
        assert!(parse_csv(b"a,b\n1\n").is_err());
    }
}
