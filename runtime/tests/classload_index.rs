//! The jar index over real jar files written by the test: lookups in classpath order,
//! multi-release and directory entries, on-demand reads, and refusal of malformed or hostile
//! jars (with the jar named) instead of a crash or unbounded memory.

use std::io::Write;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use runtime::classload::{IndexError, JarIndex, JarLimits, Location};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tmrt-index-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Writes a jar with `entries` (name, bytes); names ending in `/` become directories.
fn jar(path: &Path, entries: &[(&str, &[u8])]) -> PathBuf {
    let mut w = ZipWriter::new(std::fs::File::create(path).unwrap());
    let opts = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for (name, data) in entries {
        if name.ends_with('/') {
            w.add_directory(name.trim_end_matches('/'), opts).unwrap();
        } else {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
    }
    w.finish().unwrap();
    path.to_path_buf()
}

const MR_MANIFEST: &[u8] = b"Manifest-Version: 1.0\r\nMulti-Release: true\r\n\r\n";

#[test]
fn lookups_follow_classpath_order() {
    let d = scratch("order");
    let a = jar(
        &d.join("a.jar"),
        &[("com/acme/A.class", b"A1"), ("app.properties", b"a")],
    );
    let b = jar(
        &d.join("b.jar"),
        &[
            ("com/acme/A.class", b"A2"),
            ("com/acme/B.class", b"B"),
            ("app.properties", b"b"),
        ],
    );
    let idx = JarIndex::open(&[&a, &b], 17).unwrap();
    let loc = idx.find("com/acme/A.class").unwrap();
    assert_eq!(loc.jar, 0);
    assert_eq!(idx.read(loc).unwrap(), b"A1");
    assert_eq!(idx.read(idx.find("com/acme/B.class").unwrap()).unwrap(), b"B");
    let all: Vec<u32> = idx.find_all("app.properties").iter().map(|l| l.jar).collect();
    assert_eq!(all, [0, 1]);
    assert!(idx.find("com/acme/C.class").is_none());
    assert!(idx.find_all("nothing").is_empty());
    assert_eq!(Location::unpack(loc.pack()), Some(loc));
}

#[test]
fn directories_answer_with_and_without_slash() {
    let d = scratch("dirs");
    let a = jar(
        &d.join("a.jar"),
        &[("conf/", b""), ("conf/deep/", b""), ("conf/deep/x.txt", b"x")],
    );
    let b = jar(&d.join("b.jar"), &[("conf", b"file named conf")]);
    let idx = JarIndex::open(&[&a, &b], 17).unwrap();
    assert_eq!(idx.find("conf/deep/x.txt").map(|l| l.jar), Some(0));
    assert_eq!(idx.entry_name(idx.find("conf/deep/").unwrap()), Some("conf/deep/"));
    // ZipFile.getEntry("conf") finds the directory "conf/" in a.jar, which comes first.
    let all = idx.find_all("conf");
    assert_eq!(all.len(), 2);
    assert_eq!(idx.entry_name(all[0]), Some("conf/"));
    assert_eq!(idx.entry_name(all[1]), Some("conf"));
}

#[test]
fn multi_release_entries_follow_the_release() {
    let d = scratch("mr");
    let entries: &[(&str, &[u8])] = &[
        ("META-INF/MANIFEST.MF", MR_MANIFEST),
        ("a/B.class", b"base"),
        ("META-INF/versions/9/a/B.class", b"v9"),
        ("META-INF/versions/11/a/B.class", b"v11"),
        ("META-INF/versions/21/a/B.class", b"v21"),
        ("META-INF/versions/11/a/OnlyVersioned.class", b"only"),
        ("META-INF/versions/11/META-INF/x", b"never versioned"),
    ];
    let mr = jar(&d.join("mr.jar"), entries);
    let read = |idx: &JarIndex, n: &str| idx.read(idx.find(n).unwrap()).unwrap();
    let idx17 = JarIndex::open(&[&mr], 17).unwrap();
    assert_eq!(read(&idx17, "a/B.class"), b"v11");
    assert_eq!(
        idx17.entry_name(idx17.find("a/B.class").unwrap()),
        Some("META-INF/versions/11/a/B.class")
    );
    assert_eq!(read(&idx17, "a/OnlyVersioned.class"), b"only");
    assert_eq!(read(&idx17, "META-INF/versions/21/a/B.class"), b"v21");
    assert!(idx17.find("META-INF/x").is_none());
    assert_eq!(read(&JarIndex::open(&[&mr], 8).unwrap(), "a/B.class"), b"base");
    assert_eq!(read(&JarIndex::open(&[&mr], 10).unwrap(), "a/B.class"), b"v9");
    assert_eq!(read(&JarIndex::open(&[&mr], 21).unwrap(), "a/B.class"), b"v21");

    // The same entries without the manifest attribute are plain names.
    let plain = jar(&d.join("plain.jar"), &entries[1..]);
    let idx = JarIndex::open(&[&plain], 17).unwrap();
    assert_eq!(read(&idx, "a/B.class"), b"base");
    assert!(idx.find("a/OnlyVersioned.class").is_none());
}

fn expect_error(result: Result<JarIndex, IndexError>, jar: &Path, needle: &str) {
    let e = result.expect_err("hostile jar accepted");
    assert_eq!(e.jar, jar);
    assert!(e.to_string().contains(&jar.display().to_string()), "{e}");
    assert!(e.message.contains(needle), "expected '{needle}' in: {e}");
}

/// A hand-written zip with stored entries, for shapes the zip crate refuses to write.
fn raw_zip(entries: &[(&str, &[u8])], declared_size: Option<u32>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let offset = out.len() as u32;
        let crc = crc32(data);
        let size = declared_size.unwrap_or(data.len() as u32);
        let header = |sig: u32, central: bool| {
            let mut h = Vec::new();
            h.extend_from_slice(&sig.to_le_bytes());
            if central {
                h.extend_from_slice(&20u16.to_le_bytes());
            }
            h.extend_from_slice(&20u16.to_le_bytes()); // version needed
            h.extend_from_slice(&0u16.to_le_bytes()); // flags
            h.extend_from_slice(&0u16.to_le_bytes()); // stored
            h.extend_from_slice(&0u32.to_le_bytes()); // time/date
            h.extend_from_slice(&crc.to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&size.to_le_bytes());
            h.extend_from_slice(&(name.len() as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes()); // extra
            if central {
                h.extend_from_slice(&0u16.to_le_bytes()); // comment
                h.extend_from_slice(&0u16.to_le_bytes()); // disk
                h.extend_from_slice(&0u16.to_le_bytes()); // internal attrs
                h.extend_from_slice(&0u32.to_le_bytes()); // external attrs
                h.extend_from_slice(&offset.to_le_bytes());
            }
            h.extend_from_slice(name.as_bytes());
            h
        };
        out.extend(header(0x0403_4b50, false));
        out.extend_from_slice(data);
        central.extend(header(0x0201_4b50, true));
    }
    let cd_start = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_start.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn raw_zip_helper_makes_valid_jars() {
    let d = scratch("raw");
    let p = d.join("ok.jar");
    std::fs::write(&p, raw_zip(&[("a/A.class", b"hello")], None)).unwrap();
    let idx = JarIndex::open(&[&p], 17).unwrap();
    assert_eq!(idx.read(idx.find("a/A.class").unwrap()).unwrap(), b"hello");
}

#[test]
fn hostile_jars_are_refused_naming_the_jar() {
    let d = scratch("hostile");
    let good = jar(&d.join("good.jar"), &[("a/A.class", b"A")]);

    let garbage = d.join("garbage.jar");
    std::fs::write(&garbage, b"this is not a zip file at all").unwrap();
    expect_error(JarIndex::open(&[&good, &garbage], 17), &garbage, "not a valid jar");

    let bytes = std::fs::read(&good).unwrap();
    let truncated = d.join("truncated.jar");
    std::fs::write(&truncated, &bytes[..bytes.len() - 10]).unwrap();
    expect_error(JarIndex::open(&[&truncated], 17), &truncated, "not a valid jar");

    let dup = d.join("dup.jar");
    std::fs::write(&dup, raw_zip(&[("a/A.class", b"1"), ("a/A.class", b"2")], None)).unwrap();
    expect_error(JarIndex::open(&[&dup], 17), &dup, "duplicate");

    let dotdot = d.join("dotdot.jar");
    std::fs::write(&dotdot, raw_zip(&[("../../etc/passwd", b"x")], None)).unwrap();
    expect_error(JarIndex::open(&[&dotdot], 17), &dotdot, "'..'");

    let bomb = d.join("bomb.jar");
    std::fs::write(&bomb, raw_zip(&[("big.bin", b"x")], Some(u32::MAX))).unwrap();
    expect_error(JarIndex::open(&[&bomb], 17), &bomb, "zip bomb");

    let many = d.join("many.jar");
    let names: Vec<String> = (0..50).map(|i| format!("e{i}")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
    jar(&many, &entries);
    let limits = JarLimits {
        max_entries: 10,
        ..JarLimits::default()
    };
    expect_error(
        JarIndex::open_with_limits(&[&many], 17, limits),
        &many,
        "more than the limit",
    );

    let missing = d.join("missing.jar");
    expect_error(JarIndex::open(&[&missing], 17), &missing, "No such file");
}

#[test]
fn a_lying_size_is_caught_when_reading() {
    let d = scratch("lying");
    // Declares 3 bytes, stores 5: the reader stops at the declared size and reports it.
    let p = d.join("lying.jar");
    std::fs::write(&p, raw_zip(&[("x.txt", b"12345")], Some(3))).unwrap();
    match JarIndex::open(&[&p], 17) {
        Err(e) => assert_eq!(e.jar, p),
        Ok(idx) => {
            let e = idx.read(idx.find("x.txt").unwrap()).expect_err("lying entry read");
            assert_eq!(e.jar, p);
        }
    }
    // A deflated entry that inflates past its declared size.
    let big = vec![b'z'; 1 << 20];
    let ok = jar(&d.join("deflated.jar"), &[("z.bin", &big)]);
    let mut bytes = std::fs::read(&ok).unwrap();
    patch_uncompressed_size(&mut bytes, 1000);
    let patched = d.join("patched.jar");
    std::fs::write(&patched, &bytes).unwrap();
    let idx = JarIndex::open(&[&patched], 17).unwrap();
    let e = idx.read(idx.find("z.bin").unwrap()).expect_err("bomb read in full");
    assert_eq!(e.jar, patched);
}

/// Rewrites the uncompressed size in every local and central header of a single-entry zip.
fn patch_uncompressed_size(zip: &mut [u8], size: u32) {
    let mut i = 0;
    while i + 4 <= zip.len() {
        let sig = u32::from_le_bytes(zip[i..i + 4].try_into().unwrap());
        if sig == 0x0403_4b50 {
            zip[i + 22..i + 26].copy_from_slice(&size.to_le_bytes());
        } else if sig == 0x0201_4b50 {
            zip[i + 24..i + 28].copy_from_slice(&size.to_le_bytes());
        }
        i += 1;
    }
}

#[test]
fn indexes_every_real_flink_jar_when_present() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.flink/1.20.3");
    if !root.join("lib/flink-dist-1.20.3.jar").is_file() {
        eprintln!("SKIPPED: no .flink/1.20.3 (scripts/fetch-flink.sh 1.20.3)");
        return;
    }
    let mut jars = Vec::new();
    for sub in ["lib", "opt"] {
        jars.extend(runtime::classload::expand_classpath_element(&root.join(sub)).unwrap());
    }
    let idx = JarIndex::open(&jars, 17).unwrap();
    let loc = idx.find("org/apache/flink/util/ChildFirstClassLoader.class").unwrap();
    assert!(idx.jar(loc.jar).unwrap().path().ends_with("flink-dist-1.20.3.jar"));
    let bytes = idx.read(loc).unwrap();
    assert_eq!(&bytes[..4], &[0xCA, 0xFE, 0xBA, 0xBE]);
}

fn valid_jar_bytes() -> Vec<u8> {
    let d = scratch("prop-src");
    let p = jar(
        &d.join("v.jar"),
        &[
            ("META-INF/MANIFEST.MF", MR_MANIFEST),
            ("a/", b""),
            ("a/A.class", b"\xCA\xFE\xBA\xBEsome class bytes"),
            ("META-INF/versions/11/a/A.class", b"versioned"),
            ("r.txt", &[7u8; 300]),
        ],
    );
    std::fs::read(p).unwrap()
}

/// Opens `bytes` as a jar and reads every entry; must never panic, and never read more than the
/// declared (and capped) sizes.
fn open_and_read_all(bytes: &[u8], tag: &str) {
    let d = std::env::temp_dir().join(format!("tmrt-index-prop-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let p = d.join(format!("{tag}.jar"));
    std::fs::write(&p, bytes).unwrap();
    let limits = JarLimits {
        max_entries: 1000,
        max_entry_size: 1 << 20,
    };
    match JarIndex::open_with_limits(&[&p], 17, limits) {
        Err(e) => assert_eq!(e.jar, p),
        Ok(idx) => {
            let names: Vec<String> = idx.iter().map(|(n, _)| n.to_string()).collect();
            for n in names {
                for loc in idx.find_all(&n) {
                    if let Ok(b) = idx.read(*loc) {
                        assert!(b.len() as u64 <= limits.max_entry_size);
                    }
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_crash(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        open_and_read_all(&bytes, "arbitrary");
    }

    #[test]
    fn corrupted_jars_never_crash(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..12), cut in any::<prop::sample::Index>(), truncate in any::<bool>()) {
        let mut bytes = valid_jar_bytes();
        for (at, v) in flips {
            let i = at.index(bytes.len());
            bytes[i] = v;
        }
        if truncate {
            let n = cut.index(bytes.len());
            bytes.truncate(n);
        }
        open_and_read_all(&bytes, "corrupted");
    }
}
