//! Flink's `MemorySize`: a non-negative number of bytes, its text grammar and its two printed forms.
//!
//! The grammar is Flink's `MemorySize.parseBytes`: the text is trimmed (Java's `trim`, which drops
//! every character up to U+0020), a run of ASCII digits is the number, and whatever follows,
//! trimmed and lower-cased, is the unit: `b`/`bytes`, `k`/`kb`/`kibibytes`, `m`/`mb`/`mebibytes`,
//! `g`/`gb`/`gibibytes`, `t`/`tb`/`tebibytes`, or nothing (bytes). There is no sign and no
//! fraction: `-1m` does not start with a number, `1.5g` has the unit `.5g`. Errors carry Flink's
//! exact messages, since they end up in the messages users compare with Flink's logs.
//!
//! [`MemorySize`]'s `Display` is Flink's `toString` (`315 mb`, the largest unit that divides the
//! size exactly, but `bytes` when every unit divides it, quirk included); [`MemorySize::to_human_readable`]
//! is `toHumanReadableString` (`1.688gb (1811939328 bytes)`), the form Flink's memory messages use.

use std::fmt;
use std::str::FromStr;

use super::java_text::format_fixed3;

/// A memory unit of Flink's grammar, smallest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryUnit {
    Bytes,
    KiloBytes,
    MegaBytes,
    GigaBytes,
    TeraBytes,
}

impl MemoryUnit {
    /// Every unit, smallest first (Flink's `ORDERED_UNITS`).
    pub const ORDERED: [MemoryUnit; 5] = [
        MemoryUnit::Bytes,
        MemoryUnit::KiloBytes,
        MemoryUnit::MegaBytes,
        MemoryUnit::GigaBytes,
        MemoryUnit::TeraBytes,
    ];

    /// The spellings Flink accepts; the second is the one Flink prints.
    pub fn names(self) -> &'static [&'static str] {
        match self {
            MemoryUnit::Bytes => &["b", "bytes"],
            MemoryUnit::KiloBytes => &["k", "kb", "kibibytes"],
            MemoryUnit::MegaBytes => &["m", "mb", "mebibytes"],
            MemoryUnit::GigaBytes => &["g", "gb", "gibibytes"],
            MemoryUnit::TeraBytes => &["t", "tb", "tebibytes"],
        }
    }

    /// Bytes per unit.
    pub fn multiplier(self) -> u64 {
        match self {
            MemoryUnit::Bytes => 1,
            MemoryUnit::KiloBytes => 1 << 10,
            MemoryUnit::MegaBytes => 1 << 20,
            MemoryUnit::GigaBytes => 1 << 30,
            MemoryUnit::TeraBytes => 1 << 40,
        }
    }

    fn printed(self) -> &'static str {
        self.names()[1]
    }

    fn from_name(unit: &str) -> Option<MemoryUnit> {
        MemoryUnit::ORDERED.into_iter().find(|u| u.names().contains(&unit))
    }
}

/// Flink's list of recognised units, as its error message prints it.
pub const ALL_UNITS: &str =
    "(b | bytes) / (k | kb | kibibytes) / (m | mb | mebibytes) / (g | gb | gibibytes) / (t | tb | tebibytes)";

/// Why a text is not a memory size. `Display` is Flink's message for the same text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemorySizeError {
    /// Empty or whitespace-only text.
    Empty,
    /// The text does not start with a digit (this includes a sign).
    NoNumber,
    /// The digits do not fit a signed 64-bit number.
    NumberOverflow { number: String },
    /// Number times unit does not fit a signed 64-bit number.
    BytesOverflow { text: String },
    /// What follows the number is not a unit.
    UnknownUnit { unit: String },
}

impl fmt::Display for MemorySizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemorySizeError::Empty => f.write_str("argument is an empty- or whitespace-only string"),
            MemorySizeError::NoNumber => f.write_str("text does not start with a number"),
            MemorySizeError::NumberOverflow { number } => write!(
                f,
                "The value '{number}' cannot be re represented as 64bit number (numeric overflow)."
            ),
            MemorySizeError::BytesOverflow { text } => write!(
                f,
                "The value '{text}' cannot be re represented as 64bit number of bytes (numeric overflow)."
            ),
            MemorySizeError::UnknownUnit { unit } => write!(
                f,
                "Memory size unit '{unit}' does not match any of the recognized units: {ALL_UNITS}"
            ),
        }
    }
}

impl std::error::Error for MemorySizeError {}

/// A number of bytes, `0..=i64::MAX` like Flink's (a Java `long` that must not be negative).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct MemorySize(u64);

/// Java's `String.trim`: strips every leading and trailing char up to U+0020.
pub(crate) fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= '\u{20}')
}

impl MemorySize {
    /// Zero bytes.
    pub const ZERO: MemorySize = MemorySize(0);
    /// The largest size, `Long.MAX_VALUE` bytes (Flink's `MemorySize.MAX_VALUE`).
    pub const MAX: MemorySize = MemorySize(i64::MAX as u64);

    /// A size of `bytes`, clamped to [`MemorySize::MAX`].
    pub const fn new(bytes: u64) -> MemorySize {
        if bytes > i64::MAX as u64 {
            MemorySize::MAX
        } else {
            MemorySize(bytes)
        }
    }

    /// `mebi_bytes` MiB (Flink's `ofMebiBytes`).
    pub const fn of_mebibytes(mebi_bytes: u64) -> MemorySize {
        MemorySize::new(mebi_bytes << 20)
    }

    /// The size in bytes.
    pub const fn bytes(self) -> u64 {
        self.0
    }

    /// The size in whole MiB, rounded down.
    pub const fn mebibytes(self) -> u64 {
        self.0 >> 20
    }

    /// Parses Flink's memory size grammar (see the module documentation).
    pub fn parse(text: &str) -> Result<MemorySize, MemorySizeError> {
        let trimmed = java_trim(text);
        if trimmed.is_empty() {
            return Err(MemorySizeError::Empty);
        }
        let digits_end = trimmed
            .bytes()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(trimmed.len());
        let (number, rest) = trimmed.split_at(digits_end);
        let unit = java_trim(rest).to_lowercase();
        if number.is_empty() {
            return Err(MemorySizeError::NoNumber);
        }
        let value: i64 = number.parse().map_err(|_| MemorySizeError::NumberOverflow {
            number: number.to_string(),
        })?;
        let multiplier = if unit.is_empty() {
            1
        } else {
            MemoryUnit::from_name(&unit)
                .ok_or_else(|| MemorySizeError::UnknownUnit { unit: unit.clone() })?
                .multiplier() as i64
        };
        let bytes = value
            .checked_mul(multiplier)
            .ok_or_else(|| MemorySizeError::BytesOverflow { text: text.to_string() })?;
        Ok(MemorySize(bytes as u64))
    }

    /// Flink's `toHumanReadableString`: `1.688gb (1811939328 bytes)`, or `N bytes` up to 1 KiB.
    pub fn to_human_readable(self) -> String {
        let unit = MemoryUnit::ORDERED
            .into_iter()
            .rev()
            .find(|u| self.0 > u.multiplier())
            .unwrap_or(MemoryUnit::Bytes);
        if unit == MemoryUnit::Bytes {
            format!("{} bytes", self.0)
        } else {
            let approximate = self.0 as f64 / unit.multiplier() as f64;
            format!("{}{} ({} bytes)", format_fixed3(approximate), unit.printed(), self.0)
        }
    }

    /// `self + other`, or `None` past [`MemorySize::MAX`] (Flink's `add` throws there).
    pub fn checked_add(self, other: MemorySize) -> Option<MemorySize> {
        self.0
            .checked_add(other.0)
            .filter(|&b| b <= i64::MAX as u64)
            .map(MemorySize)
    }

    /// `self - other`, or `None` below zero (Flink's `subtract` throws there).
    pub fn checked_sub(self, other: MemorySize) -> Option<MemorySize> {
        self.0.checked_sub(other.0).map(MemorySize)
    }

    /// `self / by`, rounded down (Flink's `divide`); `None` for a zero divisor.
    pub fn checked_div(self, by: u64) -> Option<MemorySize> {
        self.0.checked_div(by).map(MemorySize)
    }
}

impl fmt::Display for MemorySize {
    /// Flink's `MemorySize.toString`: the size in the largest unit below the first unit that
    /// does not divide it exactly (`315 mb`, `1000 bytes`, `1 kb`); `bytes` when every unit
    /// divides it (`0 bytes`, `1099511627776 bytes`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first_not_dividing = MemoryUnit::ORDERED
            .iter()
            .position(|u| !self.0.is_multiple_of(u.multiplier()));
        let unit = match first_not_dividing {
            Some(0) | None => MemoryUnit::Bytes,
            Some(i) => MemoryUnit::ORDERED[i - 1],
        };
        write!(f, "{} {}", self.0 / unit.multiplier(), unit.printed())
    }
}

impl FromStr for MemorySize {
    type Err = MemorySizeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MemorySize::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<u64, String> {
        MemorySize::parse(s).map(MemorySize::bytes).map_err(|e| e.to_string())
    }

    #[test]
    fn parses_every_unit_spelling_in_any_case() {
        assert_eq!(p("1728m"), Ok(1728 << 20));
        assert_eq!(p("1728 mb"), Ok(1728 << 20));
        assert_eq!(p("  7 MeBiBytes "), Ok(7 << 20));
        assert_eq!(p("12"), Ok(12));
        assert_eq!(p("12b"), Ok(12));
        assert_eq!(p("12 bytes"), Ok(12));
        assert_eq!(p("3k"), Ok(3 << 10));
        assert_eq!(p("3KB"), Ok(3 << 10));
        assert_eq!(p("3 kibibytes"), Ok(3 << 10));
        assert_eq!(p("2G"), Ok(2 << 30));
        assert_eq!(p("2gb"), Ok(2 << 30));
        assert_eq!(p("2 gibibytes"), Ok(2 << 30));
        assert_eq!(p("1t"), Ok(1 << 40));
        assert_eq!(p("1 TB"), Ok(1 << 40));
        assert_eq!(p("1tebibytes"), Ok(1 << 40));
        assert_eq!(p("007m"), Ok(7 << 20));
        assert_eq!(p("\t5\u{1}m\n"), Ok(5 << 20));
        assert_eq!(p("9223372036854775807"), Ok(i64::MAX as u64));
    }

    #[test]
    fn errors_carry_flinks_messages() {
        assert_eq!(p(""), Err("argument is an empty- or whitespace-only string".into()));
        assert_eq!(p("   "), Err("argument is an empty- or whitespace-only string".into()));
        assert_eq!(p("g"), Err("text does not start with a number".into()));
        assert_eq!(p("-1m"), Err("text does not start with a number".into()));
        assert_eq!(
            p("99999999999999999999"),
            Err("The value '99999999999999999999' cannot be re represented as 64bit number (numeric overflow).".into())
        );
        assert_eq!(
            p(" 9000000000000t"),
            Err(
                "The value ' 9000000000000t' cannot be re represented as 64bit number of bytes (numeric overflow)."
                    .into()
            )
        );
        assert_eq!(
            p("1.5g"),
            Err(format!(
                "Memory size unit '.5g' does not match any of the recognized units: {ALL_UNITS}"
            ))
        );
        assert_eq!(
            p("1 G B"),
            Err(format!(
                "Memory size unit 'g b' does not match any of the recognized units: {ALL_UNITS}"
            ))
        );
        assert!(p("0x100").unwrap_err().contains("'x100'"));
        assert!(p("1e9").unwrap_err().contains("'e9'"));
        assert!(p("12 parsecs").unwrap_err().contains("'parsecs'"));
    }

    #[test]
    fn to_string_is_flinks() {
        let s = |b: u64| MemorySize::new(b).to_string();
        assert_eq!(s(0), "0 bytes");
        assert_eq!(s(1000), "1000 bytes");
        assert_eq!(s(1024), "1 kb");
        assert_eq!(s(315 << 20), "315 mb");
        assert_eq!(s(94372122), "94372122 bytes");
        assert_eq!(s(3 << 30), "3 gb");
        // Every unit divides 1 TiB, so Flink falls back to bytes.
        assert_eq!(s(1 << 40), "1099511627776 bytes");
        assert_eq!(s(3 << 40), "3298534883328 bytes");
    }

    #[test]
    fn human_readable_is_flinks() {
        let h = |b: u64| MemorySize::new(b).to_human_readable();
        assert_eq!(h(0), "0 bytes");
        assert_eq!(h(1024), "1024 bytes");
        assert_eq!(h(1025), "1.001kb (1025 bytes)");
        assert_eq!(h(1811939328), "1.688gb (1811939328 bytes)");
        assert_eq!(h(1 << 30), "1024.000mb (1073741824 bytes)");
        assert_eq!(h(199230278), "190.001mb (199230278 bytes)");
        assert_eq!(h(i64::MAX as u64), "8388608.000tb (9223372036854775807 bytes)");
        // A tie at the third decimal rounds up, as Java's formatter does.
        assert_eq!(h(1 << 16), "64.000kb (65536 bytes)");
        assert_eq!(h((1 << 20) + (1 << 16)), "1.063mb (1114112 bytes)");
    }

    #[test]
    fn arithmetic_stays_in_flinks_range() {
        let a = MemorySize::new(10);
        assert_eq!(a.checked_sub(MemorySize::new(11)), None);
        assert_eq!(MemorySize::MAX.checked_add(MemorySize::new(1)), None);
        assert_eq!(a.checked_div(3), Some(MemorySize::new(3)));
        assert_eq!(MemorySize::new(u64::MAX), MemorySize::MAX);
    }
}
