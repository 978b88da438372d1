//! Opened jars and built indexes kept across classloaders, so that a second loader over the same
//! jars — every job resubmission, restart and failover makes one — reuses the first one's work.
//!
//! A jar is reused while its file is unchanged: same path, size and modification time (checked
//! with one `stat` per jar and loader). An index over a list of jars is reused when every jar
//! is, for the same JDK release. The cache keeps the [`INDEXES`] most recently used indexes and
//! the jars they (and live loaders) use; jars nobody else holds are dropped once more than
//! [`JARS`] are cached. Both maps sit behind one mutex held for map operations only, never
//! while a jar is read from disk.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use parking_lot::Mutex;

use super::index::JarIndex;
use super::jar::{IndexError, Jar, JarLimits};

/// Indexes kept for reuse.
pub const INDEXES: usize = 16;
/// Jars kept beyond those in use.
pub const JARS: usize = 512;

/// What identifies a jar file's content for reuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Stamp {
    pub size: u64,
    pub modified: Option<SystemTime>,
}

impl Stamp {
    /// The file's current stamp.
    pub fn of(path: &Path) -> Result<Stamp, IndexError> {
        let meta = std::fs::metadata(path).map_err(|e| IndexError {
            jar: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Ok(Stamp {
            size: meta.len(),
            modified: meta.modified().ok(),
        })
    }
}

type Key = (Vec<(PathBuf, Stamp)>, u32);

#[derive(Default)]
struct Inner {
    jars: HashMap<PathBuf, (Stamp, Arc<Jar>)>,
    indexes: VecDeque<(Key, Arc<JarIndex>)>,
}

/// The cache; one per process is enough ([`JarCache::global`]).
#[derive(Default)]
pub struct JarCache {
    inner: Mutex<Inner>,
}

/// Whether an index came from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reuse {
    /// Built now (some jars may still have been reused).
    Built,
    /// The same jars, unchanged, were indexed before.
    Reused,
}

impl JarCache {
    pub fn new() -> JarCache {
        JarCache::default()
    }

    /// The process-wide cache.
    pub fn global() -> &'static JarCache {
        static CACHE: std::sync::OnceLock<JarCache> = std::sync::OnceLock::new();
        CACHE.get_or_init(JarCache::new)
    }

    /// The jar at `path`, opened now or reused when unchanged.
    pub fn jar(&self, path: &Path) -> Result<Arc<Jar>, IndexError> {
        let stamp = Stamp::of(path)?;
        self.jar_with_stamp(path, stamp)
    }

    fn jar_with_stamp(&self, path: &Path, stamp: Stamp) -> Result<Arc<Jar>, IndexError> {
        if let Some((s, j)) = self.inner.lock().jars.get(path) {
            if *s == stamp {
                return Ok(j.clone());
            }
        }
        let jar = Arc::new(Jar::open(path, JarLimits::default())?);
        let mut inner = self.inner.lock();
        if inner.jars.len() >= JARS {
            inner.jars.retain(|_, (_, j)| Arc::strong_count(j) > 1);
        }
        inner.jars.insert(path.to_path_buf(), (stamp, jar.clone()));
        Ok(jar)
    }

    /// An index over `paths` (classpath order) for JDK `release`, reused when the same unchanged
    /// jars were indexed before.
    pub fn index<P: AsRef<Path>>(&self, paths: &[P], release: u32) -> Result<(Arc<JarIndex>, Reuse), IndexError> {
        let mut key = Vec::with_capacity(paths.len());
        for p in paths {
            let p = p.as_ref();
            key.push((p.to_path_buf(), Stamp::of(p)?));
        }
        let key = (key, release);
        {
            let mut inner = self.inner.lock();
            if let Some(pos) = inner.indexes.iter().position(|(k, _)| *k == key) {
                let entry = inner.indexes.remove(pos).expect("position is in range");
                let index = entry.1.clone();
                inner.indexes.push_front(entry);
                return Ok((index, Reuse::Reused));
            }
        }
        let jars = key
            .0
            .iter()
            .map(|(p, s)| self.jar_with_stamp(p, *s))
            .collect::<Result<Vec<_>, _>>()?;
        let index = Arc::new(JarIndex::from_shared(jars, release));
        let mut inner = self.inner.lock();
        inner.indexes.push_front((key, index.clone()));
        inner.indexes.truncate(INDEXES);
        Ok((index, Reuse::Built))
    }

    /// Jars and indexes currently cached.
    pub fn len(&self) -> (usize, usize) {
        let inner = self.inner.lock();
        (inner.jars.len(), inner.indexes.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == (0, 0)
    }
}
