//! One jar of a classpath, opened defensively: its central directory read once, entries read on
//! demand with positioned reads (no shared file cursor, so any number of threads can read at
//! once), and every size checked against [`JarLimits`] before anything is allocated.
//!
//! A jar is refused, with an [`IndexError`] naming it, when its central directory cannot be
//! parsed (bad or truncated), it holds more entries than the limit, two entries share a name, an
//! entry name is not UTF-8 (the JDK refuses those too), contains NUL or a `..` segment, or an
//! entry declares an uncompressed size over the limit (zip bombs). Reading an entry never yields
//! more than its declared size: a stream that inflates past it, or stops short, is an error.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use zip::{CompressionMethod, ZipArchive};

/// Bounds on what a jar may declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JarLimits {
    /// Most entries one jar may hold (flink-dist has about 35 000).
    pub max_entries: usize,
    /// Largest uncompressed size of one entry.
    pub max_entry_size: u64,
}

impl Default for JarLimits {
    fn default() -> Self {
        JarLimits {
            max_entries: 1 << 20,
            max_entry_size: 256 << 20,
        }
    }
}

/// Why a jar could not be indexed or an entry read; always names the jar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexError {
    pub jar: PathBuf,
    pub message: String,
}

impl std::fmt::Display for IndexError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot read jar {}: {}", self.jar.display(), self.message)
    }
}

impl std::error::Error for IndexError {}

/// A reader over a shared file that reads with `pread`, so clones never disturb each other.
#[derive(Debug, Clone)]
pub(crate) struct PositionedFile {
    file: Arc<File>,
    pos: u64,
    len: u64,
}

impl Read for PositionedFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for PositionedFile {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        match target {
            Some(p) => {
                self.pos = p;
                Ok(p)
            }
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the jar",
            )),
        }
    }
}

/// One entry of a jar as its central directory declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JarEntry {
    pub name: String,
    pub size: u64,
    pub crc32: u32,
    pub is_dir: bool,
    /// Offset of the entry's local header.
    pub header_start: u64,
    pub compressed_size: u64,
    /// Stored (0) or deflated (8); anything else is read through the zip crate.
    pub method: u16,
}

/// What the JDK treats specially in a jar (see [`Jar::flags`]); bits as `NativeJarIndex` has them.
pub mod flags {
    /// `Multi-Release: true` ([`super::Jar::is_multi_release`]).
    pub const MULTI_RELEASE: i32 = 1;
    /// The manifest passes the JDK's `Class-Path` pre-check (`JarFile.hasClassPathAttribute`).
    pub const CLASS_PATH: i32 = 2;
    /// Signature-related files in `META-INF/` (`*.SF`, `*.DSA`, `*.RSA`, `*.EC`, `SIG-*`).
    pub const SIGNED: i32 = 4;
    /// `META-INF/INDEX.LIST` (a JarIndex, which `URLClassPath` follows).
    pub const INDEX_LIST: i32 = 8;
}

/// An opened, validated jar.
#[derive(Debug, Clone)]
pub struct Jar {
    path: PathBuf,
    file: Arc<File>,
    file_len: u64,
    archive: ZipArchive<PositionedFile>,
    entries: Vec<JarEntry>,
    manifest: Option<usize>,
    flags: i32,
    limits: JarLimits,
}

const MANIFEST: &str = "META-INF/MANIFEST.MF";

impl Jar {
    /// Opens and validates the jar at `path`.
    pub fn open(path: &Path, limits: JarLimits) -> Result<Jar, IndexError> {
        let err = |message: String| IndexError {
            jar: path.to_path_buf(),
            message,
        };
        let file = File::open(path).map_err(|e| err(e.to_string()))?;
        let len = file.metadata().map_err(|e| err(e.to_string()))?.len();
        let file = Arc::new(file);
        let reader = PositionedFile {
            file: file.clone(),
            pos: 0,
            len,
        };
        let archive = ZipArchive::new(reader).map_err(|e| err(format!("not a valid jar (zip): {e}")))?;
        if archive.has_duplicate_names() {
            return Err(err("duplicate entry names in the central directory".to_string()));
        }
        if archive.len() > limits.max_entries {
            return Err(err(format!(
                "{} entries, more than the limit of {}",
                archive.len(),
                limits.max_entries
            )));
        }
        let mut entries = Vec::with_capacity(archive.len());
        let mut manifest = None;
        let mut manifest_ci = None;
        for i in 0..archive.len() {
            let e = archive.by_index_data(i).map_err(|e| err(format!("entry {i}: {e}")))?;
            let name = std::str::from_utf8(e.name_raw())
                .map_err(|_| err(format!("entry {i}: name is not valid UTF-8")))?
                .to_string();
            if name.contains('\0') {
                return Err(err(format!("entry {i}: name contains NUL")));
            }
            if name.split(['/', '\\']).any(|seg| seg == "..") {
                return Err(err(format!("entry '{name}': '..' in an entry name")));
            }
            if e.size() > limits.max_entry_size {
                return Err(err(format!(
                    "entry '{name}' declares {} bytes uncompressed, more than the limit of {} (zip bomb?)",
                    e.size(),
                    limits.max_entry_size
                )));
            }
            if name == MANIFEST {
                manifest = Some(i);
            } else if manifest_ci.is_none() && name.eq_ignore_ascii_case(MANIFEST) {
                manifest_ci = Some(i);
            }
            let method = match e.compression() {
                CompressionMethod::Stored => 0,
                CompressionMethod::Deflated => 8,
                _ => u16::MAX,
            };
            entries.push(JarEntry {
                is_dir: name.ends_with('/'),
                header_start: e.header_start(),
                compressed_size: e.compressed_size(),
                method: if e.encrypted() { u16::MAX } else { method },
                name,
                size: e.size(),
                crc32: e.crc32(),
            });
        }
        let mut flags = 0;
        for e in &entries {
            if e.name == "META-INF/INDEX.LIST" {
                flags |= flags::INDEX_LIST;
            }
            if is_signature_related(&e.name) {
                flags |= flags::SIGNED;
            }
        }
        let mut jar = Jar {
            path: path.to_path_buf(),
            file,
            file_len: len,
            archive,
            entries,
            manifest: manifest.or(manifest_ci),
            flags,
            limits,
        };
        if let Some(m) = jar.manifest {
            let bytes = jar.read(m)?;
            if declares_multi_release(&bytes) {
                jar.flags |= flags::MULTI_RELEASE;
            }
            if find_ignore_ascii_case(&bytes, b"class-path: ").is_some() {
                jar.flags |= flags::CLASS_PATH;
            }
        }
        Ok(jar)
    }

    /// The [`flags`] of this jar.
    pub fn flags(&self) -> i32 {
        self.flags
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The entries in central-directory order.
    pub fn entries(&self) -> &[JarEntry] {
        &self.entries
    }

    /// Whether the manifest says `Multi-Release: true` (JDK `JarFile.isMultiRelease`).
    pub fn is_multi_release(&self) -> bool {
        self.flags & flags::MULTI_RELEASE != 0
    }

    /// Index of the manifest entry (`META-INF/MANIFEST.MF`, else any case variant), if any.
    pub fn manifest_entry(&self) -> Option<usize> {
        self.manifest
    }

    /// Reads entry `i` in full, never more than its declared size.
    pub fn read(&self, i: usize) -> Result<Vec<u8>, IndexError> {
        let size = self.entry_meta(i)?.size.min(self.limits.max_entry_size) as usize;
        let mut out = vec![0u8; size];
        self.read_into(i, &mut out)?;
        Ok(out)
    }

    fn entry_meta(&self, i: usize) -> Result<&JarEntry, IndexError> {
        self.entries.get(i).ok_or_else(|| IndexError {
            jar: self.path.clone(),
            message: format!("no entry {i}"),
        })
    }

    /// Reads entry `i` into `out`, which must be exactly its declared size: one positioned read
    /// of the local header and the compressed data (into a per-thread buffer), then one inflate
    /// straight into `out`, checked against the declared size and CRC-32.
    pub fn read_into(&self, i: usize, out: &mut [u8]) -> Result<(), IndexError> {
        let meta = self.entry_meta(i)?;
        let err = |message: String| IndexError {
            jar: self.path.clone(),
            message: format!("entry '{}': {message}", meta.name),
        };
        if meta.size > self.limits.max_entry_size || out.len() as u64 != meta.size {
            return Err(err(format!("declares {} bytes, {} expected", meta.size, out.len())));
        }
        if meta.method == u16::MAX {
            let bytes = self.read_with_zip(i)?;
            out.copy_from_slice(&bytes);
            return Ok(());
        }
        READ_BUFFER.with(|cell| {
            let mut buf = cell.borrow_mut();
            let data = self.compressed_data(meta, &mut buf).map_err(err)?;
            if meta.method == 0 {
                if data.len() != out.len() {
                    return Err(err(format!(
                        "stored with {} bytes but declares {}",
                        data.len(),
                        meta.size
                    )));
                }
                out.copy_from_slice(data);
            } else {
                inflate_into(data, out).map_err(err)?;
            }
            Ok(())
        })?;
        if crc32fast::hash(out) != meta.crc32 {
            return Err(err("CRC-32 mismatch".to_string()));
        }
        Ok(())
    }

    /// The entry's compressed bytes, read with one `pread` (two when the local header's extra
    /// field is longer than expected) into `buf`.
    fn compressed_data<'b>(&self, meta: &JarEntry, buf: &'b mut Vec<u8>) -> Result<&'b [u8], String> {
        const LOCAL_HEADER: usize = 30;
        const SLACK: usize = 64;
        let csize = usize::try_from(meta.compressed_size).map_err(|_| "too large".to_string())?;
        if meta.compressed_size > self.limits.max_entry_size.saturating_mul(2) + 1024
            || meta.header_start.saturating_add(meta.compressed_size) > self.file_len
        {
            return Err(format!(
                "declares {} compressed bytes, more than the jar holds",
                meta.compressed_size
            ));
        }
        let guess = LOCAL_HEADER + meta.name.len() + SLACK + csize;
        buf.clear();
        buf.resize(guess, 0);
        let n = read_full_at(&self.file, buf, meta.header_start).map_err(|e| e.to_string())?;
        if n < LOCAL_HEADER || buf[..4] != [0x50, 0x4b, 0x03, 0x04] {
            return Err("bad local header".to_string());
        }
        let name_len = u16::from_le_bytes([buf[26], buf[27]]) as usize;
        let extra_len = u16::from_le_bytes([buf[28], buf[29]]) as usize;
        let start = LOCAL_HEADER + name_len + extra_len;
        let end = start + csize;
        if end > n {
            if end > guess {
                buf.resize(end, 0);
                let more =
                    read_full_at(&self.file, &mut buf[n..], meta.header_start + n as u64).map_err(|e| e.to_string())?;
                if n + more < end {
                    return Err("is truncated".to_string());
                }
            } else {
                return Err("is truncated".to_string());
            }
        }
        Ok(&buf[start..end])
    }

    /// Entries in a format the fast path does not read, through the zip crate.
    fn read_with_zip(&self, i: usize) -> Result<Vec<u8>, IndexError> {
        let meta = self.entry_meta(i)?;
        let err = |message: String| IndexError {
            jar: self.path.clone(),
            message: format!("entry '{}': {message}", meta.name),
        };
        let size = meta.size.min(self.limits.max_entry_size);
        let mut archive = self.archive.clone();
        let file = archive.by_index(i).map_err(|e| err(e.to_string()))?;
        let mut buf = Vec::with_capacity(size as usize);
        file.take(size + 1)
            .read_to_end(&mut buf)
            .map_err(|e| err(e.to_string()))?;
        if buf.len() as u64 != meta.size {
            return Err(err(format!(
                "inflates to {} bytes{} but declares {}",
                buf.len(),
                if buf.len() as u64 > size { " or more" } else { "" },
                meta.size
            )));
        }
        Ok(buf)
    }
}

/// Reads until `buf` is full or the file ends; the number of bytes read.
fn read_full_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// Whether `name` is a signature-related file the JDK verifies (`META-INF/*.SF`, `.DSA`, `.RSA`,
/// `.EC`, `SIG-*`, directly under `META-INF/`).
fn is_signature_related(name: &str) -> bool {
    let Some(rest) = name
        .get(..9)
        .filter(|p| p.eq_ignore_ascii_case("META-INF/"))
        .map(|_| &name[9..])
    else {
        return false;
    };
    if rest.contains('/') || rest.is_empty() {
        return false;
    }
    let upper = rest.to_ascii_uppercase();
    upper.starts_with("SIG-") || [".SF", ".DSA", ".RSA", ".EC"].iter().any(|x| upper.ends_with(x))
}

/// The first position of `pattern` (lower-case ASCII) in `bytes`, ignoring ASCII case.
fn find_ignore_ascii_case(bytes: &[u8], pattern: &[u8]) -> Option<usize> {
    bytes
        .windows(pattern.len())
        .position(|w| w.eq_ignore_ascii_case(pattern))
}

thread_local! {
    /// One decompressor per thread, reused for every entry.
    static INFLATER: std::cell::RefCell<libdeflater::Decompressor> = std::cell::RefCell::new(libdeflater::Decompressor::new());
    /// The compressed bytes of the entry being read, reused.
    static READ_BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Inflates a raw deflate stream into `out`, which must be exactly the declared size: a stream
/// that inflates past it (libdeflate stops at the end of `out`), or ends short of it, is an
/// error.
fn inflate_into(input: &[u8], out: &mut [u8]) -> Result<(), String> {
    INFLATER.with(|cell| {
        let mut d = cell.borrow_mut();
        match d.deflate_decompress(input, out) {
            Ok(n) if n == out.len() => Ok(()),
            Ok(n) => Err(format!("inflates to {n} bytes but declares {}", out.len())),
            Err(libdeflater::DecompressionError::InsufficientSpace) => {
                Err(format!("inflates past its declared {} bytes (zip bomb?)", out.len()))
            }
            Err(libdeflater::DecompressionError::BadData) => Err("invalid or truncated deflate data".to_string()),
        }
    })
}

/// JDK 17's `JarFile.checkForSpecialAttributes`: the first `MULTI-RELEASE: TRUE` (any case)
/// in the manifest, followed by a line end that does not continue the value.
fn declares_multi_release(manifest: &[u8]) -> bool {
    const KEY: &[u8] = b"multi-release: true";
    let Some(at) = find_ignore_ascii_case(manifest, KEY) else {
        return false;
    };
    let b = manifest;
    let mut i = at + KEY.len();
    if i >= b.len() {
        return false;
    }
    let c = b[i];
    i += 1;
    match c {
        b'\n' => i == b.len() || b[i] != b' ',
        b'\r' => {
            if i == b.len() {
                return true;
            }
            let c = b[i];
            i += 1;
            if c == b'\n' {
                i == b.len() || b[i] != b' '
            } else {
                c != b' '
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_release_attribute() {
        assert!(declares_multi_release(
            b"Manifest-Version: 1.0\r\nMulti-Release: true\r\n\r\n"
        ));
        assert!(declares_multi_release(b"Manifest-Version: 1.0\nmulti-release: TRUE\n"));
        assert!(!declares_multi_release(
            b"Manifest-Version: 1.0\nMulti-Release: false\n"
        ));
        assert!(!declares_multi_release(
            b"Manifest-Version: 1.0\nMulti-Release: truex\n"
        ));
        // As the JDK: no line start needed, only the first occurrence counts, and a
        // continuation line makes the value something else.
        assert!(declares_multi_release(b"X-Multi-Release: true\n"));
        assert!(!declares_multi_release(b"Multi-Release: truex\nMulti-Release: true\n"));
        assert!(!declares_multi_release(b"Multi-Release: true\n  x\n"));
        assert!(declares_multi_release(
            b"Multi-Release: true"[..]
                .iter()
                .chain(b"\r")
                .copied()
                .collect::<Vec<_>>()
                .as_slice()
        ));
    }

    #[test]
    fn signature_files() {
        for n in [
            "META-INF/A.SF",
            "META-INF/x.rsa",
            "META-INF/K.DSA",
            "META-INF/K.EC",
            "meta-inf/SIG-X",
        ] {
            assert!(is_signature_related(n), "{n}");
        }
        for n in [
            "META-INF/MANIFEST.MF",
            "META-INF/x/A.SF",
            "a/META-INF/A.SF",
            "META-INF/",
        ] {
            assert!(!is_signature_related(n), "{n}");
        }
    }
}
