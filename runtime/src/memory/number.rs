//! Java's number parsers, as Flink's `Configuration` applies them to option values.
//!
//! Integer options go through `Integer.parseInt` (no trimming, one optional sign, decimal digits),
//! float and double options through `Float.parseFloat`/`Double.parseDouble` (Java's `trim`, an
//! optional sign, `NaN`, `Infinity`, decimal literals with an optional exponent and an optional
//! `f`/`F`/`d`/`D` suffix, or hexadecimal literals such as `0x1.8p1`). A failure carries the
//! `NumberFormatException` message Java would give (`For input string: "1.5g"`, `empty String`).
//!
//! Known gap: `Integer.parseInt` also accepts non-ASCII Unicode decimal digits (`Character.digit`);
//! these are rejected here.

use super::size::java_trim;

/// Java's `Integer.parseInt(s)`.
pub fn parse_int(s: &str) -> Result<i32, String> {
    let err = || format!("For input string: \"{s}\"");
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err());
    }
    // Rust's i32 parser accepts exactly one leading sign and ASCII digits, like Java's.
    s.parse::<i32>().map_err(|_| err())
}

/// Java's `Float.parseFloat(s)`.
pub fn parse_float(s: &str) -> Result<f32, String> {
    java_float_literal(s).map(|lit| match lit {
        Literal::Decimal(text) => text.parse::<f32>().unwrap_or(f32::NAN),
        Literal::Hex(v) => v as f32,
        Literal::NaN => f32::NAN,
        Literal::Infinity(neg) => {
            if neg {
                f32::NEG_INFINITY
            } else {
                f32::INFINITY
            }
        }
    })
}

/// Java's `Double.parseDouble(s)`.
pub fn parse_double(s: &str) -> Result<f64, String> {
    java_float_literal(s).map(|lit| match lit {
        Literal::Decimal(text) => text.parse::<f64>().unwrap_or(f64::NAN),
        Literal::Hex(v) => v,
        Literal::NaN => f64::NAN,
        Literal::Infinity(neg) => {
            if neg {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }
        }
    })
}

enum Literal {
    /// A decimal literal, normalised so that Rust's parser reads it (sign, digits, exponent).
    Decimal(String),
    /// A hexadecimal literal's value (computed in double precision).
    Hex(f64),
    NaN,
    Infinity(bool),
}

/// Validates Java's floating-point literal grammar (`FloatingDecimal.readJavaFormatString`).
fn java_float_literal(original: &str) -> Result<Literal, String> {
    let s = java_trim(original);
    if s.is_empty() {
        return Err("empty String".into());
    }
    let err = || format!("For input string: \"{s}\"");
    let b = s.as_bytes();
    let mut i = 0;
    let negative = b[0] == b'-';
    if b[0] == b'-' || b[0] == b'+' {
        i = 1;
    }
    let rest = &s[i..];
    if rest.starts_with("NaN") {
        return if rest.len() == 3 { Ok(Literal::NaN) } else { Err(err()) };
    }
    if rest.starts_with("Infinity") {
        return if rest.len() == 8 {
            Ok(Literal::Infinity(negative))
        } else {
            Err(err())
        };
    }
    if rest.len() > 1 && rest.starts_with('0') && matches!(b[i + 1], b'x' | b'X') {
        return parse_hex(&rest[2..], negative).map(Literal::Hex).ok_or_else(err);
    }
    // Decimal: digits with at most one point, at least one digit.
    let mut digits = 0;
    let mut point = false;
    while i < b.len() {
        match b[i] {
            b'0'..=b'9' => digits += 1,
            b'.' => {
                if point {
                    return Err("multiple points".into());
                }
                point = true;
            }
            _ => break,
        }
        i += 1;
    }
    if digits == 0 {
        return Err(err());
    }
    let mantissa_end = i;
    let mut exponent = String::new();
    if i < b.len() && matches!(b[i], b'e' | b'E') {
        i += 1;
        let start = i;
        if i < b.len() && matches!(b[i], b'+' | b'-') {
            i += 1;
        }
        let digits_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == digits_start {
            return Err(err());
        }
        exponent = format!("e{}", &s[start..i]);
    }
    if i < b.len() && !(i == b.len() - 1 && matches!(b[i], b'f' | b'F' | b'd' | b'D')) {
        return Err(err());
    }
    Ok(Literal::Decimal(format!("{}{}", &s[..mantissa_end], exponent)))
}

/// Java's hexadecimal floating-point literal after `0x`: `HEX[.HEX]p[+-]DIGITS[fFdD]`.
fn parse_hex(s: &str, negative: bool) -> Option<f64> {
    let p = s.find(['p', 'P'])?;
    let (mantissa, exp) = (&s[..p], &s[p + 1..]);
    let exp = exp.strip_suffix(['f', 'F', 'd', 'D']).unwrap_or(exp);
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part.bytes().chain(frac_part.bytes()).all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let exp_digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
    if exp_digits.is_empty() || !exp_digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let exp: i64 = exp
        .parse()
        .unwrap_or(if exp.starts_with('-') { i64::MIN } else { i64::MAX });
    let mut value = 0f64;
    for c in int_part.chars().chain(frac_part.chars()) {
        value = value * 16.0 + c.to_digit(16).unwrap_or(0) as f64;
    }
    let scale = exp.saturating_sub(4 * frac_part.len() as i64).clamp(-2000, 2000) as i32;
    let v = value * 2f64.powi(scale);
    Some(if negative { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_follows_integer_parse_int() {
        assert_eq!(parse_int("4"), Ok(4));
        assert_eq!(parse_int("+4"), Ok(4));
        assert_eq!(parse_int("-0"), Ok(0));
        assert_eq!(parse_int("007"), Ok(7));
        assert_eq!(parse_int("2147483647"), Ok(i32::MAX));
        assert_eq!(parse_int(""), Err("For input string: \"\"".into()));
        assert_eq!(parse_int(" 4"), Err("For input string: \" 4\"".into()));
        assert_eq!(parse_int("1e9"), Err("For input string: \"1e9\"".into()));
        assert_eq!(parse_int("2147483648"), Err("For input string: \"2147483648\"".into()));
        assert!(parse_int("-").is_err() && parse_int("+-1").is_err());
    }

    #[test]
    fn float_follows_float_parse_float() {
        assert_eq!(parse_float("0.4"), Ok(0.4f32));
        assert_eq!(parse_float(" 0.4 "), Ok(0.4f32));
        assert_eq!(parse_float("0.5f"), Ok(0.5));
        assert_eq!(parse_float("5e-1D"), Ok(0.5));
        assert_eq!(parse_float(".5"), Ok(0.5));
        assert_eq!(parse_float("5."), Ok(5.0));
        assert_eq!(parse_float("-0.1"), Ok(-0.1));
        assert_eq!(parse_float("1e9"), Ok(1e9));
        assert_eq!(parse_float("0x1.8p1"), Ok(3.0));
        assert!(parse_float("NaN").unwrap().is_nan());
        assert_eq!(parse_float("-Infinity"), Ok(f32::NEG_INFINITY));
        assert_eq!(parse_float(""), Err("empty String".into()));
        assert_eq!(parse_float("  "), Err("empty String".into()));
        assert_eq!(parse_float("1.2.3"), Err("multiple points".into()));
        for bad in [
            "abc",
            "g",
            "-1m",
            "1.5g",
            "0x100",
            "1 g b",
            "12 parsecs",
            ".",
            "1e",
            "-",
            "nan",
            "inf",
            "1ff",
        ] {
            assert_eq!(parse_float(bad), Err(format!("For input string: \"{bad}\"")), "{bad}");
        }
    }

    #[test]
    fn double_follows_double_parse_double() {
        assert_eq!(parse_double("1.5"), Ok(1.5));
        assert_eq!(parse_double("0.1"), Ok(0.1));
        assert_eq!(parse_double("1e400"), Ok(f64::INFINITY));
        assert!(parse_double("x").is_err());
    }
}
