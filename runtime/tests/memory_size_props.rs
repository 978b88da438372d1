//! Property tests: Flink's memory size grammar never panics, and printing round-trips.

use proptest::prelude::*;
use runtime::memory::MemorySize;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn parse_never_panics_on_arbitrary_text(s in any::<String>()) {
        let _ = MemorySize::parse(&s);
    }

    #[test]
    fn parse_never_panics_on_size_like_text(s in "[ \t]{0,2}-?[0-9]{0,22}[ .]{0,2}[a-zA-Z]{0,10}[ \t]{0,2}") {
        if let Ok(size) = MemorySize::parse(&s) {
            prop_assert!(size.bytes() <= i64::MAX as u64);
        }
    }

    #[test]
    fn display_round_trips(bytes in 0u64..=i64::MAX as u64) {
        let size = MemorySize::new(bytes);
        prop_assert_eq!(MemorySize::parse(&size.to_string()), Ok(size));
        let human = size.to_human_readable();
        let exact = format!("{bytes} bytes");
        let ok = human.ends_with(&format!("({exact})")) || human == exact;
        prop_assert!(ok, "{}", human);
    }

    #[test]
    fn display_round_trips_for_unit_multiples(n in 0u64..(1 << 23), shift in prop::sample::select(vec![0u32, 10, 20, 30, 40])) {
        let size = MemorySize::new(n << shift);
        prop_assert_eq!(MemorySize::parse(&size.to_string()), Ok(size));
    }
}
