//! Timestamp rendering and the calendar arithmetic under it (also the dataset crate's CSV time
//! parser's). A dozen lines instead of a date crate: the project only ever handles UTC instants in
//! a few fixed patterns.

use crate::config::Mode;

/// (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Split µs since the epoch into a civil UTC date and time.
pub fn civil_utc(us: i64) -> (i64, u32, u32, u32, u32, u32, u32) {
    let secs = us.div_euclid(1_000_000);
    let micros = us.rem_euclid(1_000_000) as u32;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400) as u32;
    let (y, mo, d) = civil_from_days(days);
    (y, mo, d, sod / 3600, sod / 60 % 60, sod % 60, micros)
}

/// Append the Timestamp column without allocating (the CSV writer's hot path).
pub fn write_timestamp(out: &mut Vec<u8>, us: i64, mode: Mode) {
    let (y, mo, d, h, mi, s, micros) = civil_utc(us);
    let two = |out: &mut Vec<u8>, v: u32| {
        out.extend_from_slice(&[b'0' + (v / 10 % 10) as u8, b'0' + (v % 10) as u8])
    };
    let year = |out: &mut Vec<u8>| {
        if (0..=9999).contains(&y) {
            let y = y as u32;
            two(out, y / 100);
            two(out, y % 100);
        } else {
            out.extend_from_slice(format!("{y:04}").as_bytes());
        }
    };
    match mode {
        Mode::Cic2018 => {
            let h12 = if h % 12 == 0 { 12 } else { h % 12 };
            two(out, d);
            out.push(b'/');
            two(out, mo);
            out.push(b'/');
            year(out);
            out.push(b' ');
            two(out, h12);
        }
        Mode::Corrected => {
            year(out);
            out.push(b'-');
            two(out, mo);
            out.push(b'-');
            two(out, d);
            out.push(b' ');
            two(out, h);
        }
    }
    out.push(b':');
    two(out, mi);
    out.push(b':');
    two(out, s);
    if mode == Mode::Corrected {
        out.push(b'.');
        two(out, micros / 10_000);
        two(out, micros / 100 % 100);
        two(out, micros % 100);
    }
}

/// The Timestamp column for a mode (see [`crate::FlowRecord::timestamp`]).
pub fn format_timestamp(us: i64, mode: Mode) -> String {
    let (y, mo, d, h, mi, s, micros) = civil_utc(us);
    match mode {
        Mode::Cic2018 => {
            let h12 = if h % 12 == 0 { 12 } else { h % 12 };
            format!("{d:02}/{mo:02}/{y:04} {h12:02}:{mi:02}:{s:02}")
        }
        Mode::Corrected => format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{micros:06}"),
    }
}

/// `2018-02-16T13:47:37.250000Z`: RFC 3339 UTC with microseconds (alerts, evidence).
pub fn rfc3339_micros(us: i64) -> String {
    let (y, mo, d, h, mi, s, micros) = civil_utc(us);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{micros:06}Z")
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's `days_from_civil`). Inline across
/// crates: the dataset crate's CSV parser calls it once per row.
#[inline]
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`rfc3339_micros`]: µs since the epoch of `YYYY-MM-DDThh:mm:ss.ffffffZ`, or
/// `None` for anything of another shape (readers of alert files use it; they never trust one).
pub fn parse_rfc3339_micros(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let shape = b.len() == 27
        && [
            (4, b'-'),
            (7, b'-'),
            (10, b'T'),
            (13, b':'),
            (16, b':'),
            (19, b'.'),
            (26, b'Z'),
        ]
        .iter()
        .all(|&(i, c)| b[i] == c);
    if !shape {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> { text.get(from..to)?.parse().ok() };
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, s, micros) = (num(11, 13)?, num(14, 16)?, num(17, 19)?, num(20, 26)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(y as i64, mo, d);
    let secs = days * 86_400 + i64::from(h * 3600 + mi * 60 + s);
    Some(secs * 1_000_000 + i64::from(micros))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_and_refuses_other_shapes() {
        for us in [
            0,
            1_518_788_857_250_000,
            1_795_708_469_299_119,
            951_782_400_000_001,
        ] {
            assert_eq!(parse_rfc3339_micros(&rfc3339_micros(us)), Some(us));
        }
        assert_eq!(
            parse_rfc3339_micros("2018-02-16T13:47:37.250000Z"),
            Some(1_518_788_857_250_000)
        );
        for bad in [
            "",
            "2018-02-16 13:47:37.250000",
            "2018-13-16T13:47:37.250000Z",
            "2018-02-16T13:47:37.25Z",
            "2018-02-16T13:47:37.2500x0Z",
        ] {
            assert_eq!(parse_rfc3339_micros(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_both_styles() {
        // 2018-02-16 13:47:37.250000 UTC
        let us = 1_518_788_857_250_000;
        assert_eq!(format_timestamp(us, Mode::Cic2018), "16/02/2018 01:47:37");
        assert_eq!(
            format_timestamp(us, Mode::Corrected),
            "2018-02-16 13:47:37.250000"
        );
        assert_eq!(format_timestamp(0, Mode::Cic2018), "01/01/1970 12:00:00");
        for (us, mode) in [
            (us, Mode::Cic2018),
            (us, Mode::Corrected),
            (0, Mode::Corrected),
            (-1_500_000, Mode::Corrected),
            (253_402_300_799_999_999, Mode::Corrected),
        ] {
            let mut out = Vec::new();
            write_timestamp(&mut out, us, mode);
            assert_eq!(String::from_utf8(out).unwrap(), format_timestamp(us, mode));
        }
    }
}
