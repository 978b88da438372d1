//! Fractions of a size, computed to the byte as Flink computes them.
//!
//! A fraction option is a Java `float`, widened to `double`. Flink's `MemorySize.multiply(double)`
//! multiplies in `BigDecimal`: `BigDecimal.valueOf(d)` is the exact decimal of `Double.toString(d)`
//! (`0.1f` becomes `0.10000000149011612`), the product is exact, and `longValue()` truncates.
//! [`multiply`] reproduces that with integer arithmetic. A [`RangeFraction`] is a fraction with the
//! min and max its result is clamped to (`capToMinMax`); the clamp is reported so that the
//! derivation can tell the user about it.

use super::java_text::double_to_string;
use super::MemorySize;

/// The decimal value of `Double.toString(d)` as `mantissa × 10^exponent`.
fn java_decimal(d: f64) -> Option<(u128, i32)> {
    let text = double_to_string(d);
    let (mantissa, exp) = match text.split_once('E') {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => (text.as_str(), 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int_part}{frac_part}");
    let m: u128 = digits.parse().ok()?;
    Some((m, exp - frac_part.len() as i32))
}

/// Flink's `MemorySize.multiply(double)`: exact product with the decimal of `Double.toString`,
/// truncated. `Err` is Flink's failure (`multiplier must be >= 0`, `long overflow`).
pub fn multiply(size: MemorySize, multiplier: f64) -> Result<MemorySize, &'static str> {
    if multiplier.is_nan() || multiplier < 0.0 {
        return Err("multiplier must be >= 0");
    }
    if multiplier.is_infinite() {
        return Err("long overflow");
    }
    let (m, exp) = java_decimal(multiplier).ok_or("long overflow")?;
    let bytes = size.bytes() as u128;
    let product = bytes.checked_mul(m).ok_or("long overflow")?;
    let value = if exp >= 0 {
        if product == 0 {
            0
        } else {
            10u128
                .checked_pow(exp as u32)
                .and_then(|p| product.checked_mul(p))
                .ok_or("long overflow")?
        }
    } else {
        match 10u128.checked_pow((-exp) as u32) {
            Some(p) => product / p,
            None => 0,
        }
    };
    if value > i64::MAX as u128 {
        return Err("long overflow");
    }
    Ok(MemorySize::new(value as u64))
}

/// A fraction with the range its result must fall in (Flink's `RangeFraction`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RangeFraction {
    pub min: MemorySize,
    pub max: MemorySize,
    pub fraction: f64,
}

/// Which end of a range a derived size was clamped to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Min,
    Max,
}

impl RangeFraction {
    /// Flink's constructor checks, with its messages.
    pub fn new(min: MemorySize, max: MemorySize, fraction: f64) -> Result<RangeFraction, &'static str> {
        if min > max {
            return Err("min value must be less or equal to max value");
        }
        if !(0.0..1.0).contains(&fraction) {
            return Err("fraction must be in range [0, 1)");
        }
        Ok(RangeFraction { min, max, fraction })
    }

    /// `deriveWithFraction`: `base × fraction`, clamped. Also returns the unclamped size and the
    /// bound it was clamped to, if any.
    pub fn derive(&self, base: MemorySize) -> Result<(MemorySize, MemorySize, Option<Bound>), &'static str> {
        let relative = multiply(base, self.fraction)?;
        Ok(self.cap(relative))
    }

    /// `deriveWithInverseFraction`: the size that is `fraction` of `base` plus itself,
    /// i.e. `base × f / (1 - f)`, clamped.
    pub fn derive_inverse(&self, base: MemorySize) -> Result<(MemorySize, MemorySize, Option<Bound>), &'static str> {
        let relative = multiply(base, self.fraction / (1.0 - self.fraction))?;
        Ok(self.cap(relative))
    }

    fn cap(&self, relative: MemorySize) -> (MemorySize, MemorySize, Option<Bound>) {
        if relative > self.max {
            (self.max, relative, Some(Bound::Max))
        } else if relative < self.min {
            (self.min, relative, Some(Bound::Min))
        } else {
            (relative, relative, None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiply_uses_the_decimal_of_double_to_string() {
        // 0.1f widened is 0.10000000149011612 as Java prints it.
        let f = 0.1f32 as f64;
        assert_eq!(
            multiply(MemorySize::new(1_000_000_000), f),
            Ok(MemorySize::new(100_000_001))
        );
        assert_eq!(multiply(MemorySize::new(1 << 30), 0.5), Ok(MemorySize::new(1 << 29)));
        assert_eq!(multiply(MemorySize::new(7), 0.0), Ok(MemorySize::ZERO));
        assert_eq!(multiply(MemorySize::new(10), 1.0e-5), Ok(MemorySize::ZERO));
        assert_eq!(multiply(MemorySize::new(3), 1.0e7), Ok(MemorySize::new(30_000_000)));
        assert_eq!(multiply(MemorySize::MAX, 2.0), Err("long overflow"));
        assert_eq!(multiply(MemorySize::ZERO, 1.0e300), Ok(MemorySize::ZERO));
        assert_eq!(multiply(MemorySize::new(1), -1.0), Err("multiplier must be >= 0"));
    }

    #[test]
    fn range_fraction_checks_and_clamps() {
        assert_eq!(
            RangeFraction::new(MemorySize::new(2), MemorySize::new(1), 0.1),
            Err("min value must be less or equal to max value")
        );
        assert_eq!(
            RangeFraction::new(MemorySize::ZERO, MemorySize::MAX, 1.0),
            Err("fraction must be in range [0, 1)")
        );
        assert!(RangeFraction::new(MemorySize::ZERO, MemorySize::MAX, f64::NAN).is_err());
        let r = RangeFraction::new(MemorySize::new(100), MemorySize::new(200), 0.5).unwrap();
        assert_eq!(
            r.derive(MemorySize::new(300)),
            Ok((MemorySize::new(150), MemorySize::new(150), None))
        );
        assert_eq!(
            r.derive(MemorySize::new(1000)),
            Ok((MemorySize::new(200), MemorySize::new(500), Some(Bound::Max)))
        );
        assert_eq!(
            r.derive(MemorySize::new(10)),
            Ok((MemorySize::new(100), MemorySize::new(5), Some(Bound::Min)))
        );
        assert_eq!(r.derive_inverse(MemorySize::new(300)).unwrap().0, MemorySize::new(200));
    }
}
