//! The page size of managed memory (`taskmanager.memory.segment-size`): Flink's rules, a power of
//! two of at least 4 KiB. tmrt also caps it at 1 GiB so that a page fits a Java `ByteBuffer`.

use super::{ManagedMemoryError, SEGMENT_SIZE_KEY};
use crate::config::Configuration;
use crate::memory::MemorySize;

/// A validated page size in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageSize(u64);

impl PageSize {
    /// Flink's `MemoryManager.MIN_PAGE_SIZE`.
    pub const MIN: u64 = 4 * 1024;
    /// The largest page a Java `ByteBuffer` can view (2^30 bytes).
    pub const MAX: u64 = 1 << 30;
    /// Flink's `MemoryManager.DEFAULT_PAGE_SIZE` (the default of `taskmanager.memory.segment-size`).
    pub const DEFAULT: PageSize = PageSize(32 * 1024);

    /// Checks `bytes` against Flink's rules.
    pub fn new(bytes: u64) -> Result<PageSize, ManagedMemoryError> {
        if !(Self::MIN..=Self::MAX).contains(&bytes) || !bytes.is_power_of_two() {
            return Err(ManagedMemoryError::InvalidPageSize { bytes });
        }
        Ok(PageSize(bytes))
    }

    /// The page size `taskmanager.memory.segment-size` of `config` (Flink's size grammar, e.g.
    /// `32kb`; default 32 KiB), checked against Flink's rules. Errors name the option and value.
    pub fn from_config(config: &Configuration) -> Result<PageSize, ManagedMemoryError> {
        let Some(value) = config.get(SEGMENT_SIZE_KEY) else {
            return Ok(PageSize::DEFAULT);
        };
        let size = MemorySize::parse(value).map_err(|e| ManagedMemoryError::InvalidOption {
            key: SEGMENT_SIZE_KEY,
            value: value.to_string(),
            reason: e.to_string(),
        })?;
        PageSize::new(size.bytes())
    }

    pub fn bytes(self) -> u64 {
        self.0
    }

    /// log2 of the page size, for shifting page indices into byte offsets.
    pub fn shift(self) -> u32 {
        self.0.trailing_zeros()
    }
}

impl Default for PageSize {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_powers_of_two_from_4k() {
        for shift in 12..=30 {
            assert_eq!(PageSize::new(1 << shift).unwrap().bytes(), 1 << shift);
            assert_eq!(PageSize::new(1 << shift).unwrap().shift(), shift);
        }
        assert_eq!(PageSize::default().bytes(), 32768);
    }

    #[test]
    fn reads_the_segment_size_option_with_flinks_size_grammar() {
        let conf = |v: &str| Configuration::from_pairs([(SEGMENT_SIZE_KEY, v)]);
        assert_eq!(PageSize::from_config(&Configuration::new()).unwrap(), PageSize::DEFAULT);
        assert_eq!(PageSize::from_config(&conf("64kb")).unwrap().bytes(), 65536);
        assert_eq!(PageSize::from_config(&conf(" 4096 ")).unwrap().bytes(), 4096);
        assert_eq!(PageSize::from_config(&conf("1 m")).unwrap().bytes(), 1 << 20);
        let e = PageSize::from_config(&conf("3kb")).unwrap_err();
        assert!(
            e.to_string()
                .contains("3072 bytes for 'taskmanager.memory.segment-size'"),
            "{e}"
        );
        let e = PageSize::from_config(&conf("32 kilobits")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Could not parse value '32 kilobits' for key 'taskmanager.memory.segment-size': Memory size unit \
             'kilobits' does not match any of the recognized units: (b | bytes) / (k | kb | kibibytes) / \
             (m | mb | mebibytes) / (g | gb | gibibytes) / (t | tb | tebibytes)"
        );
    }

    #[test]
    fn rejects_small_large_and_uneven_sizes_naming_the_option() {
        for bad in [0, 1, 2048, 4095, 5000, 3 * 4096, (1 << 31), u64::MAX] {
            let e = PageSize::new(bad).unwrap_err();
            let text = e.to_string();
            assert!(text.contains("taskmanager.memory.segment-size"), "{text}");
            assert!(text.contains(&format!("{bad} bytes")), "{text}");
        }
    }
}
