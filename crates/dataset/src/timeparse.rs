//! Timestamps of the CSV dialects → µs since the epoch and a capture day.
//!
//! Hand-written because there are exactly three shapes and a date crate would be the largest
//! dependency of the parser's hot loop:
//! - `dd/MM/yyyy hh:mm:ss` (CSE-CIC-IDS2018, ml-ids extract cic2018): 12-hour clock without AM/PM,
//!   so the time of day is ambiguous by 12 h; the day is exact.
//! - `d/M/yyyy H:mm[:ss][ AM|PM]` (CIC-IDS2017).
//! - `yyyy-MM-dd HH:mm:ss[.ffffff]` (improved release, ml-ids extract corrected).
//!
//! All are read as UTC wall-clock values: the datasets do not say which zone they were written in.

/// The flow crate's calendar arithmetic: one implementation for every timestamp in the project.
pub use mlids_flow::time::days_from_civil;

/// `YYYY-MM-DD` of µs since the epoch.
pub fn day_of(us: i64) -> String {
    let (y, m, d, ..) = mlids_flow::time::civil_utc(us);
    format!("{y:04}-{m:02}-{d:02}")
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn num(&mut self, min_digits: usize, max_digits: usize) -> Option<u32> {
        let start = self.i;
        let mut v: u32 = 0;
        while self.i < self.s.len()
            && self.i - start < max_digits
            && self.s[self.i].is_ascii_digit()
        {
            v = v * 10 + (self.s[self.i] - b'0') as u32;
            self.i += 1;
        }
        (self.i - start >= min_digits).then_some(v)
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn rest(&self) -> &[u8] {
        &self.s[self.i..]
    }
}

/// Parse a timestamp cell; `None` when it has none of the known shapes or an impossible date.
pub fn parse_timestamp(cell: &[u8]) -> Option<i64> {
    let s = cell.trim_ascii();
    if s.is_empty() {
        return None;
    }
    let mut c = Cursor { s, i: 0 };
    let first = c.num(1, 4)?;
    let (y, mo, d) = if c.i == 4 && c.eat(b'-') {
        let mo = c.num(1, 2)?;
        if !c.eat(b'-') {
            return None;
        }
        (first as i64, mo, c.num(1, 2)?)
    } else if c.eat(b'/') {
        let mo = c.num(1, 2)?;
        if !c.eat(b'/') {
            return None;
        }
        (c.num(4, 4)? as i64, mo, first)
    } else {
        return None;
    };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let (mut h, mut mi, mut sec, mut micros) = (0u32, 0u32, 0u32, 0u32);
    if c.eat(b' ') || c.eat(b'T') {
        h = c.num(1, 2)?;
        if !c.eat(b':') {
            return None;
        }
        mi = c.num(2, 2)?;
        if c.eat(b':') {
            sec = c.num(2, 2)?;
            if c.eat(b'.') {
                let start = c.i;
                let frac = c.num(1, 9)?;
                let digits = (c.i - start) as u32;
                micros = if digits <= 6 {
                    frac * 10u32.pow(6 - digits)
                } else {
                    frac / 10u32.pow(digits - 6)
                };
            }
        }
        let rest = c.rest().trim_ascii();
        if rest.eq_ignore_ascii_case(b"PM") && h < 12 {
            h += 12;
        } else if rest.eq_ignore_ascii_case(b"AM") && h == 12 {
            h = 0;
        } else if !(rest.is_empty()
            || rest.eq_ignore_ascii_case(b"AM")
            || rest.eq_ignore_ascii_case(b"PM")
            || rest == b"Z")
        {
            return None;
        }
    } else if !c.rest().is_empty() {
        return None;
    }
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    Some(((days * 86_400 + (h * 3600 + mi * 60 + sec) as i64) * 1_000_000) + micros as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlids_flow::time::format_timestamp;
    use mlids_flow::Mode;

    #[test]
    fn all_shapes() {
        let us = 1_518_788_857_250_000; // 2018-02-16 13:47:37.25
        assert_eq!(
            parse_timestamp(format_timestamp(us, Mode::Corrected).as_bytes()),
            Some(us)
        );
        // cic2018's 12-hour clock loses the afternoon.
        assert_eq!(
            parse_timestamp(format_timestamp(us, Mode::Cic2018).as_bytes()),
            Some(us - 250_000 - 12 * 3_600_000_000)
        );
        assert_eq!(
            day_of(parse_timestamp(b"16/02/2018 01:47:37").unwrap()),
            "2018-02-16"
        );
        assert_eq!(
            day_of(parse_timestamp(b"3/7/2017 8:55").unwrap()),
            "2017-07-03"
        );
        assert_eq!(
            parse_timestamp(b"3/7/2017 1:00:00 PM"),
            parse_timestamp(b"2017-07-03 13:00:00")
        );
        assert_eq!(
            parse_timestamp(b"2018-03-02 16:46:12.972385"),
            Some(1_520_009_172_972_385)
        );
        assert_eq!(parse_timestamp(b"garbage"), None);
        assert_eq!(parse_timestamp(b"31/13/2018 01:00:00"), None);
        assert_eq!(parse_timestamp(b""), None);
    }
}
