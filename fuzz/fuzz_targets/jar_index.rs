//! The jar index over arbitrary bytes: opening must return a jar or an error naming it, never
//! crash, hang or allocate beyond the limits; every entry of an accepted jar must read back within
//! its declared (capped) size or fail with an error naming the jar.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use runtime::classload::{JarIndex, JarLimits};

fn scratch() -> &'static PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| std::env::temp_dir().join(format!("tmrt-fuzz-{}.jar", std::process::id())))
}

fuzz_target!(|data: &[u8]| {
    let path = scratch();
    std::fs::write(path, data).unwrap();
    let limits = JarLimits {
        max_entries: 4096,
        max_entry_size: 1 << 20,
    };
    match JarIndex::open_with_limits(&[path], 17, limits) {
        Err(e) => assert_eq!(&e.jar, path),
        Ok(index) => {
            let names: Vec<String> = index.iter().map(|(n, _)| n.to_string()).collect();
            for n in names {
                for loc in index.find_all(&n) {
                    match index.read(*loc) {
                        Ok(bytes) => assert!(bytes.len() as u64 <= limits.max_entry_size),
                        Err(e) => assert_eq!(&e.jar, path),
                    }
                }
            }
        }
    }
});
