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

use flate2::{Decompress, FlushDecompress, Status};
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
}

/// An opened, validated jar.
#[derive(Debug, Clone)]
pub struct Jar {
    path: PathBuf,
    archive: ZipArchive<PositionedFile>,
    entries: Vec<JarEntry>,
    manifest: Option<usize>,
    multi_release: bool,
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
        let reader = PositionedFile {
            file: Arc::new(file),
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
            entries.push(JarEntry {
                is_dir: name.ends_with('/'),
                name,
                size: e.size(),
                crc32: e.crc32(),
            });
        }
        let mut jar = Jar {
            path: path.to_path_buf(),
            archive,
            entries,
            manifest: manifest.or(manifest_ci),
            multi_release: false,
            limits,
        };
        if let Some(m) = jar.manifest {
            let bytes = jar.read(m)?;
            jar.multi_release = declares_multi_release(&bytes);
        }
        Ok(jar)
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
        self.multi_release
    }

    /// Index of the manifest entry (`META-INF/MANIFEST.MF`, else any case variant), if any.
    pub fn manifest_entry(&self) -> Option<usize> {
        self.manifest
    }

    /// Reads entry `i` in full, never more than its declared size.
    pub fn read(&self, i: usize) -> Result<Vec<u8>, IndexError> {
        let err = |message: String| IndexError {
            jar: self.path.clone(),
            message,
        };
        let Some(meta) = self.entries.get(i) else {
            return Err(err(format!("no entry {i}")));
        };
        let size = meta.size.min(self.limits.max_entry_size);
        let mut archive = self.archive.clone();
        let raw = archive
            .by_index_raw(i)
            .map_err(|e| err(format!("entry '{}': {e}", meta.name)))?;
        match raw.compression() {
            CompressionMethod::Stored | CompressionMethod::Deflated => {
                let method = raw.compression();
                let csize = raw.compressed_size();
                let mut compressed = Vec::with_capacity(csize.min(size.max(1) * 2 + 1024).min(1 << 24) as usize);
                raw.take(csize)
                    .read_to_end(&mut compressed)
                    .map_err(|e| err(format!("entry '{}': {e}", meta.name)))?;
                if compressed.len() as u64 != csize {
                    return Err(err(format!("entry '{}' is truncated", meta.name)));
                }
                let out = if method == CompressionMethod::Stored {
                    compressed
                } else {
                    inflate(&compressed, size).map_err(|m| err(format!("entry '{}': {m}", meta.name)))?
                };
                if out.len() as u64 != meta.size {
                    return Err(err(format!(
                        "entry '{}' inflates to {} bytes but declares {}",
                        meta.name,
                        out.len(),
                        meta.size
                    )));
                }
                if crc32fast::hash(&out) != meta.crc32 {
                    return Err(err(format!("entry '{}': CRC-32 mismatch", meta.name)));
                }
                return Ok(out);
            }
            _ => {}
        }
        let mut archive = self.archive.clone();
        let file = archive
            .by_index(i)
            .map_err(|e| err(format!("entry '{}': {e}", meta.name)))?;
        let mut buf = Vec::with_capacity(size as usize);
        file.take(size + 1)
            .read_to_end(&mut buf)
            .map_err(|e| err(format!("entry '{}': {e}", meta.name)))?;
        if buf.len() as u64 != meta.size {
            return Err(err(format!(
                "entry '{}' inflates to {} bytes{} but declares {}",
                meta.name,
                buf.len(),
                if buf.len() as u64 > size { " or more" } else { "" },
                meta.size
            )));
        }
        Ok(buf)
    }
}

thread_local! {
    /// One inflater per thread, reset for each entry: no per-entry window allocation.
    static INFLATER: std::cell::RefCell<Decompress> = std::cell::RefCell::new(Decompress::new(false));
}

/// Inflates a raw deflate stream that declares `size` bytes: never produces more than `size + 1`
/// bytes, so a stream that inflates past its declared size is detected without inflating it all.
fn inflate(input: &[u8], size: u64) -> Result<Vec<u8>, String> {
    INFLATER.with(|cell| {
        let mut d = cell.borrow_mut();
        d.reset(false);
        let mut out = vec![0u8; size as usize + 1];
        loop {
            let (in_before, out_before) = (d.total_in() as usize, d.total_out() as usize);
            let status = d
                .decompress(&input[in_before..], &mut out[out_before..], FlushDecompress::Finish)
                .map_err(|e| format!("invalid deflate data: {e}"))?;
            let produced = d.total_out() as usize;
            match status {
                Status::StreamEnd => {
                    out.truncate(produced);
                    return Ok(out);
                }
                _ if produced > size as usize => {
                    return Err(format!("inflates past its declared {size} bytes (zip bomb?)"));
                }
                _ if d.total_in() as usize == in_before && produced == out_before => {
                    return Err("truncated deflate data".to_string());
                }
                _ => {}
            }
        }
    })
}

/// JDK's `JarFile.checkForSpecialAttributes`: the manifest's main section holds
/// `Multi-Release: true` (case-insensitive), ending the line.
fn declares_multi_release(manifest: &[u8]) -> bool {
    const KEY: &[u8] = b"\nmulti-release: true";
    manifest
        .windows(KEY.len() + 1)
        .any(|w| w[..KEY.len()].eq_ignore_ascii_case(KEY) && (w[KEY.len()] == b'\n' || w[KEY.len()] == b'\r'))
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
    }
}
