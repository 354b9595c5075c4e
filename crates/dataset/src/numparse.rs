//! Number cells → f64, fast.
//!
//! Almost every CIC cell is a short plain decimal (`0`, `443`, `137.75`). For those with at most 15
//! significant digits, `mantissa / 10^k` is one correctly rounded IEEE division of two exactly
//! representable numbers (Clinger's fast path), so the result is bit-identical to `str::parse`.
//! Everything else (exponents, `Infinity`, `NaN`, long mantissas) goes to `str::parse`, which
//! accepts Java's spellings case-insensitively.

const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// Parse one cell (already trimmed, non-empty). `None`: not a number.
#[inline]
pub fn parse_f64(c: &[u8]) -> Option<f64> {
    if let Some(v) = fast(c) {
        return Some(v);
    }
    if !c.is_ascii() {
        return None;
    }
    // ASCII is valid UTF-8.
    std::str::from_utf8(c).ok()?.parse::<f64>().ok()
}

#[inline]
fn fast(c: &[u8]) -> Option<f64> {
    let (neg, digits) = match c.first()? {
        b'-' => (true, &c[1..]),
        b'+' => (false, &c[1..]),
        _ => (false, c),
    };
    if digits.is_empty() || digits.len() > 17 {
        return None;
    }
    let mut m: u64 = 0;
    let mut n_digits = 0u32;
    let mut frac_digits = 0u32;
    let mut seen_dot = false;
    for &b in digits {
        match b {
            b'0'..=b'9' => {
                m = m * 10 + (b - b'0') as u64;
                if m > 0 {
                    n_digits += 1;
                }
                frac_digits += seen_dot as u32;
            }
            b'.' if !seen_dot => seen_dot = true,
            _ => return None,
        }
    }
    // A lone "." or "-." is not a number; more than 15 significant digits may not be exact.
    if digits.len() == seen_dot as usize || n_digits > 15 || frac_digits > 15 {
        return None;
    }
    let v = if frac_digits == 0 {
        m as f64
    } else {
        m as f64 / POW10[frac_digits as usize]
    };
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_std_parse() {
        let cases = [
            "0",
            "6",
            "-1",
            "443",
            "0.0",
            "137.75000000000003",
            "554.9726393569169",
            "-4.7744091668656e-05",
            "2314471.58",
            "4187173.646309366",
            "-188505000000",
            "Infinity",
            "-Infinity",
            "NaN",
            "1e300",
            "123456789012345",
            "1234567890123456789",
            "0.1",
            "-0.0",
            "+5",
            "00012.5000",
            "3.",
            ".5",
            "99999999999999.9",
        ];
        for s in cases {
            let want: f64 = s.parse().unwrap();
            let got = parse_f64(s.as_bytes()).unwrap();
            assert!(
                got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                "{s}: {got} vs {want}"
            );
        }
        for bad in ["", "-", ".", "1.2.3", "abc", "1,5", "12a"] {
            assert_eq!(parse_f64(bad.as_bytes()), None, "{bad}");
        }
        assert_eq!(parse_f64(b"\x96"), None);
    }

    #[test]
    fn random_decimals_agree_with_std_parse() {
        let mut x: u64 = 0x1234_5678;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let int = x % 10_000_000_000;
            let frac = (x >> 20) % 1_000_000;
            let s = format!("{int}.{frac:0width$}", width = ((x >> 40) % 7) as usize);
            let want: f64 = s.parse().unwrap();
            assert_eq!(
                parse_f64(s.as_bytes()).unwrap().to_bits(),
                want.to_bits(),
                "{s}"
            );
        }
    }
}
