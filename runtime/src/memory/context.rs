//! The state of one derivation: the configuration and catalogue it reads, and the record of how
//! each component was determined. Shared by the Flink-memory and process-memory steps.

use crate::config::Configuration;

use super::error::MemoryConfigError;
use super::fraction::{Bound, RangeFraction};
use super::java_text::double_to_string;
use super::options::{Catalogue, MemoryOption};
use super::read;
use super::spec::{Adjustment, Component, Origin, Source};
use super::MemorySize;

pub(crate) const ARITHMETIC: &str = "java.lang.ArithmeticException";

pub(crate) struct Context<'c> {
    pub conf: &'c Configuration,
    pub cat: Catalogue,
    pub origins: Vec<Origin>,
    pub adjustments: Vec<Adjustment>,
}

impl<'c> Context<'c> {
    pub fn new(conf: &'c Configuration, cat: Catalogue) -> Self {
        Context {
            conf,
            cat,
            origins: Vec::new(),
            adjustments: Vec::new(),
        }
    }

    pub fn contains(&self, option: &MemoryOption) -> bool {
        read::contains(self.conf, option)
    }

    /// `getMemorySizeFromConfig`.
    pub fn size(&self, option: &MemoryOption) -> Result<MemorySize, MemoryConfigError> {
        read::memory_size(self.conf, option)
    }

    /// Reads a size and records where it came from.
    pub fn component(&mut self, component: Component, option: &MemoryOption) -> Result<MemorySize, MemoryConfigError> {
        let size = self.size(option)?;
        self.record(component, self.source_of(option));
        Ok(size)
    }

    /// Configured (under which key) or default.
    pub fn source_of(&self, option: &MemoryOption) -> Source {
        match read::key_used(self.conf, option) {
            Some(key) => Source::Configured { key: key.to_string() },
            None => Source::Default { key: option.key },
        }
    }

    pub fn record(&mut self, component: Component, source: Source) {
        self.origins.retain(|o| o.component != component);
        self.origins.push(Origin { component, source });
    }

    /// `ProcessMemoryUtils.getRangeFraction`.
    pub fn range(
        &self,
        min: MemorySize,
        max: MemorySize,
        fraction_option: &MemoryOption,
    ) -> Result<RangeFraction, MemoryConfigError> {
        let fraction = read::get_fraction(self.conf, fraction_option)?;
        RangeFraction::new(min, max, fraction).map_err(|cause| {
            MemoryConfigError::conflict_with_cause(
                format!(
                    "Inconsistently configured {} ({}) and its min ({}), max ({}) value",
                    fraction_option.describe(),
                    double_to_string(fraction),
                    min.to_human_readable(),
                    max.to_human_readable()
                ),
                cause,
            )
        })
    }

    /// `deriveWithFraction` / `deriveWithInverseFraction`, recording the source and any clamp.
    #[allow(clippy::too_many_arguments)]
    pub fn derive_fraction(
        &mut self,
        component: Component,
        base: MemorySize,
        of: Component,
        range: RangeFraction,
        fraction_option: &MemoryOption,
        bound_keys: (&'static str, &'static str),
        inverse: bool,
    ) -> Result<MemorySize, MemoryConfigError> {
        let derived = if inverse {
            range.derive_inverse(base)
        } else {
            range.derive(base)
        };
        let (size, relative, bound) = derived
            .map_err(|e| MemoryConfigError::arithmetic(ARITHMETIC, e, "Cannot derive a size from a fraction"))?;
        // The key that supplied the fraction (a deprecated one, perhaps), or the option's own.
        let used = read::key_used(self.conf, fraction_option);
        let key = used.unwrap_or(fraction_option.key);
        let configured = used.is_some();
        let source = if inverse {
            Source::InverseFraction {
                key,
                configured,
                fraction: range.fraction,
                of,
                others: base,
            }
        } else {
            Source::Fraction {
                key,
                configured,
                fraction: range.fraction,
                of,
                base,
            }
        };
        self.record(component, source);
        if let Some(bound) = bound {
            self.adjustments.push(Adjustment::Clamped {
                component,
                derived: relative,
                to: size,
                bound,
                bound_key: match bound {
                    Bound::Min => bound_keys.0,
                    Bound::Max => bound_keys.1,
                },
            });
        }
        Ok(size)
    }
}

/// `MemorySize.add` (`Math.addExact`).
pub(crate) fn add(sizes: &[MemorySize]) -> Result<MemorySize, MemoryConfigError> {
    sizes.iter().try_fold(MemorySize::ZERO, |acc, s| {
        acc.checked_add(*s).ok_or_else(|| {
            MemoryConfigError::arithmetic(
                ARITHMETIC,
                "long overflow",
                "Memory sizes add up to more than 2^63-1 bytes",
            )
        })
    })
}

/// `MemorySize.subtract` (callers have checked the order).
pub(crate) fn sub(a: MemorySize, b: MemorySize) -> MemorySize {
    a.checked_sub(b).unwrap_or(MemorySize::ZERO)
}
