//! The few pieces of Java's number-to-text conversion that show up in Flink's output.
//!
//! Flink's messages and dynamic configs print doubles with `Double.toString` (`1.0`, `1.0E7`) and
//! with `String.format("%.3f", d)`. Both start from the shortest decimal digits that identify the
//! double (what Rust's `{:e}` gives too); `%.3f` then rounds those digits *half up*, not half to
//! even as Rust's `{:.3}` does (`0.0625` is `0.063` in Java, `0.062` in Rust). Only finite,
//! non-negative values occur in the memory model, but every input is handled without panicking.
//!
//! Known gap, measured against JDK 17 on 300,000 random doubles: for some doubles of magnitude
//! 1.8e16 and above, JDK 17 prints 17 or 18 digits where the shortest form has fewer (its
//! integer-range shortcut); tmrt prints the shortest form. All differences were at or above
//! 1.8e16; the memory model multiplies by fractions below 2^24 and prints CPU core counts, so
//! none of its outputs is affected.

/// The shortest decimal digits of `d` (no leading zeros) and the exponent `e` such that
/// `d = 0.DIGITS × 10^e`. For zero the digits are `"0"` and the exponent is 1.
fn shortest_digits(d: f64) -> (Vec<u8>, i32) {
    let d = d.abs();
    if d == 0.0 {
        return (vec![b'0'], 1);
    }
    // `{:e}` prints the shortest round-trip digits: `1.2345e-7`.
    let sci = format!("{d:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    ties_to_even(d, &mut digits);
    (digits, exp + 1)
}

/// When the double lies exactly halfway between two shortest candidates (its exact expansion
/// has one digit more, a 5), Java picks the candidate with the even last digit; Rust may pick the
/// other. `0.8722f` widened is exactly `0.87220001220703125`: Java prints `0.8722000122070312`,
/// and that is the decimal `MemorySize.multiply` multiplies by.
fn ties_to_even(d: f64, digits: &mut [u8]) {
    let n = digits.len();
    // Cheap filter: one digit more, correctly rounded, must end in 5 for a tie.
    let one_more = format!("{:.*e}", n, d.abs());
    if one_more.split('e').next().is_none_or(|m| !m.ends_with('5')) {
        return;
    }
    // Every double's exact decimal expansion has at most 767 significant digits.
    let exact = format!("{:.800e}", d.abs());
    let exact_digits: Vec<u8> = exact
        .split('e')
        .next()
        .unwrap_or("")
        .bytes()
        .filter(u8::is_ascii_digit)
        .collect();
    let significant = exact_digits.iter().rposition(|&b| b != b'0').map_or(0, |p| p + 1);
    if significant != n + 1 || exact_digits[n] != b'5' {
        return;
    }
    let down = &exact_digits[..n];
    let last = down[n - 1];
    if last.is_multiple_of(2) {
        digits.copy_from_slice(down);
    } else if last != b'9' {
        digits.copy_from_slice(down);
        digits[n - 1] = last + 1;
    }
    // An odd 9 would carry into the exponent; Rust's digits are kept then.
}

/// Java's `String.format(Locale.ROOT, "%.3f", d)` for a finite double.
pub fn format_fixed3(d: f64) -> String {
    format_fixed(d, 3)
}

/// Java's `%.<prec>f`: the shortest digits, rounded half up to `prec` decimals.
pub fn format_fixed(d: f64, prec: usize) -> String {
    if !d.is_finite() {
        return if d.is_nan() {
            "NaN".into()
        } else if d > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    let negative = d.is_sign_negative() && d != 0.0;
    let (digits, exp) = shortest_digits(d);
    // Lay the digits out as integer part and `prec + 1` decimals, then round on the last one.
    let mut int_part: Vec<u8> = Vec::new();
    let mut frac: Vec<u8> = Vec::new();
    for i in 0..(exp.max(1) as i64 + prec as i64 + 1) {
        let pos = i - (exp.max(1) as i64 - exp as i64); // index into digits
        let digit = if pos >= 0 && (pos as usize) < digits.len() {
            digits[pos as usize]
        } else {
            b'0'
        };
        if i < exp.max(1) as i64 {
            int_part.push(digit);
        } else {
            frac.push(digit);
        }
    }
    let round_up = frac.pop().is_some_and(|last| last >= b'5');
    if round_up {
        let mut carry = true;
        for d in frac.iter_mut().rev().chain(int_part.iter_mut().rev()) {
            if !carry {
                break;
            }
            if *d == b'9' {
                *d = b'0';
            } else {
                *d += 1;
                carry = false;
            }
        }
        if carry {
            int_part.insert(0, b'1');
        }
    }
    while int_part.len() > 1 && int_part[0] == b'0' {
        int_part.remove(0);
    }
    let mut out = String::with_capacity(int_part.len() + prec + 2);
    if negative {
        out.push('-');
    }
    out.push_str(std::str::from_utf8(&int_part).unwrap_or("0"));
    if prec > 0 {
        out.push('.');
        out.push_str(std::str::from_utf8(&frac).unwrap_or(""));
    }
    out
}

/// Java's `Double.toString(d)`: plain decimal with at least one fraction digit for
/// `10^-3 <= |d| < 10^7`, otherwise computerized scientific notation (`1.0E7`, `1.5E-4`).
pub fn double_to_string(d: f64) -> String {
    if d.is_nan() {
        return "NaN".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    let sign = if d.is_sign_negative() { "-" } else { "" };
    if d == 0.0 {
        return format!("{sign}0.0");
    }
    let (digits, exp) = shortest_digits(d);
    let text = |r: &[u8]| String::from_utf8_lossy(r).into_owned();
    let a = d.abs();
    if (1e-3..1e7).contains(&a) {
        if exp <= 0 {
            format!("{sign}0.{}{}", "0".repeat((-exp) as usize), text(&digits))
        } else if exp as usize >= digits.len() {
            format!("{sign}{}{}.0", text(&digits), "0".repeat(exp as usize - digits.len()))
        } else {
            let (i, f) = digits.split_at(exp as usize);
            format!("{sign}{}.{}", text(i), text(f))
        }
    } else {
        let rest = if digits.len() > 1 {
            text(&digits[1..])
        } else {
            "0".into()
        };
        format!("{sign}{}.{}E{}", digits[0] as char, rest, exp - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed3_rounds_half_up_like_java() {
        assert_eq!(format_fixed3(0.0625), "0.063");
        assert_eq!(format_fixed3(1.6875), "1.688");
        assert_eq!(format_fixed3(190.00118255615234), "190.001");
        assert_eq!(format_fixed3(1024.0), "1024.000");
        assert_eq!(format_fixed3(0.9996), "1.000");
        assert_eq!(format_fixed3(999.9999), "1000.000");
        assert_eq!(format_fixed3(8388608.0), "8388608.000");
        assert_eq!(format_fixed3(0.0), "0.000");
        assert_eq!(format_fixed3(1e-9), "0.000");
        assert_eq!(format_fixed3(123456789012.5), "123456789012.500");
    }

    #[test]
    fn double_to_string_matches_java() {
        assert_eq!(double_to_string(1.0), "1.0");
        assert_eq!(double_to_string(3.0), "3.0");
        assert_eq!(double_to_string(0.5), "0.5");
        assert_eq!(double_to_string(1000000.0), "1000000.0");
        assert_eq!(double_to_string(1e7), "1.0E7");
        assert_eq!(double_to_string(1.25e10), "1.25E10");
        assert_eq!(double_to_string(0.001), "0.001");
        assert_eq!(double_to_string(0.0001), "1.0E-4");
        assert_eq!(double_to_string(0.1f32 as f64), "0.10000000149011612");
        assert_eq!(double_to_string(-0.1f32 as f64), "-0.10000000149011612");
        assert_eq!(double_to_string(0.0), "0.0");
        assert_eq!(double_to_string(123.456), "123.456");
        // Halfway between two shortest candidates: Java takes the even one.
        assert_eq!(double_to_string(0.8722f32 as f64), "0.8722000122070312");
        assert_eq!(double_to_string(0.813179f32 as f64), "0.8131790161132812");
    }
}
