//! The iteration order of a Java `HashMap<String, _>`, so that tmrt prints Flink's dynamic
//! configs in the very order Flink prints them.
//!
//! Flink collects the dynamic configs in a `HashMap` and joins its entries. A `HashMap` iterates
//! bucket by bucket; a key's bucket is `(h ^ (h >>> 16)) & (capacity - 1)` with `h` the key's
//! `String.hashCode`, keys sharing a bucket keep insertion order, and the capacity starts at 16
//! and doubles whenever the size exceeds three quarters of it. (Buckets turn into trees only at 8
//! colliding keys in a table of 64 or more, which a dozen keys never reach.)

/// Java's `String.hashCode` (over UTF-16 code units).
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, unit| h.wrapping_mul(31).wrapping_add(unit as i32))
}

/// The order in which a `HashMap` filled with `keys` (distinct, in insertion order) iterates
/// them, as indices into `keys`.
pub fn hash_map_order(keys: &[&str]) -> Vec<usize> {
    let mut capacity = 16usize;
    for size in 1..=keys.len() {
        if size > capacity * 3 / 4 {
            capacity *= 2;
        }
    }
    let bucket = |k: &str| {
        let h = java_string_hash(k);
        ((h ^ ((h as u32) >> 16) as i32) as u32 as usize) & (capacity - 1)
    };
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by_key(|&i| (bucket(keys[i]), i));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_hash_matches_java() {
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        // "taskmanager.cpu.cores".hashCode() in Java.
        assert_eq!(java_string_hash("hello"), 99162322);
    }
}
