//! The jar index: every class and resource name of an ordered list of jars, mapped to the jars
//! (in classpath order) and entries that hold it, so that resolving a name is one hash lookup
//! however many jars there are. Entry bytes are read on demand ([`JarIndex::read`]).
//!
//! Names are indexed the way the JDK's `JarFile.getEntry` finds them, jar by jar:
//! - every entry under its own name, directory entries (`a/b/`) included;
//! - a directory entry also under its name without the slash (`ZipFile` retries `name + "/"`);
//! - in a multi-release jar (`Multi-Release: true`), `META-INF/versions/N/x` also under `x` for
//!   the highest `N` with `9 <= N <= release`, where `release` is the running JDK's feature
//!   version; names under `META-INF/` are never versioned.
//!
//! For each name a jar contributes at most one entry, with the JDK's precedence: versioned entry,
//! else the exact entry, else the directory entry.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::jar::{IndexError, Jar, JarLimits};

/// Where a name lives: jar position in the classpath and entry index in that jar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Location {
    pub jar: u32,
    pub entry: u32,
}

impl Location {
    /// Packs into one `i64` (for JNI): jar in the high half, entry in the low half.
    pub fn pack(self) -> i64 {
        ((self.jar as i64) << 32) | self.entry as i64
    }

    /// The inverse of [`Self::pack`]; `None` for negative values.
    pub fn unpack(v: i64) -> Option<Location> {
        (v >= 0).then_some(Location {
            jar: (v >> 32) as u32,
            entry: v as u32,
        })
    }
}

#[derive(Debug, Clone)]
enum Locations {
    One(Location),
    Many(Vec<Location>),
}

impl Locations {
    fn as_slice(&self) -> &[Location] {
        match self {
            Locations::One(l) => std::slice::from_ref(l),
            Locations::Many(v) => v,
        }
    }
}

/// FxHash (rustc's hasher): class names are not attacker-chosen keys once a jar is accepted,
/// and this is several times faster than SipHash on short strings.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().unwrap()));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(buf));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// The JDK release that multi-release jars are resolved for when no JVM says otherwise.
pub const DEFAULT_RELEASE: u32 = 17;

/// An index over an ordered list of jars.
#[derive(Debug)]
pub struct JarIndex {
    jars: Vec<Arc<Jar>>,
    names: FxMap<Box<str>, Locations>,
    release: u32,
}

impl JarIndex {
    /// Opens and indexes `jars` (classpath order) for JDK `release`, with the default limits.
    pub fn open<P: AsRef<Path>>(jars: &[P], release: u32) -> Result<JarIndex, IndexError> {
        Self::open_with_limits(jars, release, JarLimits::default())
    }

    /// [`Self::open`] with explicit limits.
    pub fn open_with_limits<P: AsRef<Path>>(
        jars: &[P],
        release: u32,
        limits: JarLimits,
    ) -> Result<JarIndex, IndexError> {
        let opened = jars
            .iter()
            .map(|p| Jar::open(p.as_ref(), limits))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::from_jars(opened, release))
    }

    /// Indexes already opened jars.
    pub fn from_jars(jars: Vec<Jar>, release: u32) -> JarIndex {
        Self::from_shared(jars.into_iter().map(Arc::new).collect(), release)
    }

    /// Indexes already opened jars that other indexes may share (see `JarCache`).
    pub fn from_shared(jars: Vec<Arc<Jar>>, release: u32) -> JarIndex {
        let total: usize = jars.iter().map(|j| j.entries().len()).sum();
        let mut names: FxMap<Box<str>, Locations> = FxMap::with_capacity_and_hasher(total, Default::default());
        for (j, jar) in jars.iter().enumerate() {
            for (name, entry) in jar_names(jar, release) {
                let loc = Location {
                    jar: j as u32,
                    entry: entry as u32,
                };
                match names.get_mut(name) {
                    None => {
                        names.insert(name.into(), Locations::One(loc));
                    }
                    Some(l) => match l {
                        Locations::One(first) => *l = Locations::Many(vec![*first, loc]),
                        Locations::Many(v) => v.push(loc),
                    },
                }
            }
        }
        JarIndex { jars, names, release }
    }

    /// The JDK release multi-release jars were resolved for.
    pub fn release(&self) -> u32 {
        self.release
    }

    /// The jars, in classpath order.
    pub fn jars(&self) -> &[Arc<Jar>] {
        &self.jars
    }

    /// The jar at `position`.
    pub fn jar(&self, position: u32) -> Option<&Jar> {
        self.jars.get(position as usize).map(|j| &**j)
    }

    /// Where `name` (`a/b/C.class`, `META-INF/x`) is found first, like `URLClassLoader.findResource`.
    #[inline]
    pub fn find(&self, name: &str) -> Option<Location> {
        self.names.get(name).map(|l| l.as_slice()[0])
    }

    /// Every jar holding `name`, in classpath order, like `URLClassLoader.findResources`.
    pub fn find_all(&self, name: &str) -> &[Location] {
        self.names.get(name).map(Locations::as_slice).unwrap_or(&[])
    }

    /// The real entry name at `loc` (differs from the looked-up name for versioned or directory
    /// entries).
    pub fn entry_name(&self, loc: Location) -> Option<&str> {
        self.jar(loc.jar)?
            .entries()
            .get(loc.entry as usize)
            .map(|e| e.name.as_str())
    }

    /// Reads the bytes of the entry at `loc`.
    pub fn read(&self, loc: Location) -> Result<Vec<u8>, IndexError> {
        match self.jar(loc.jar) {
            Some(j) => j.read(loc.entry as usize),
            None => Err(IndexError {
                jar: PathBuf::from(format!("#{}", loc.jar)),
                message: "no such jar in the index".to_string(),
            }),
        }
    }

    /// Reads the entry at `loc` into `out`, which must be exactly its declared size
    /// ([`Self::entry_size`]).
    pub fn read_into(&self, loc: Location, out: &mut [u8]) -> Result<(), IndexError> {
        match self.jar(loc.jar) {
            Some(j) => j.read_into(loc.entry as usize, out),
            None => Err(IndexError {
                jar: PathBuf::from(format!("#{}", loc.jar)),
                message: "no such jar in the index".to_string(),
            }),
        }
    }

    /// The declared uncompressed size of the entry at `loc`.
    pub fn entry_size(&self, loc: Location) -> Option<u64> {
        self.jar(loc.jar)?.entries().get(loc.entry as usize).map(|e| e.size)
    }

    /// Number of distinct names.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// All names with their locations (unordered).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[Location])> {
        self.names.iter().map(|(k, v)| (&**k, v.as_slice()))
    }
}

/// The names one jar answers to, each with the entry the JDK would return, in entry order.
fn jar_names(jar: &Jar, release: u32) -> Vec<(&str, usize)> {
    // rank: 0 directory-without-slash, 1 exact, 2 + N versioned.
    let mut best: FxMap<&str, (u32, usize)> =
        FxMap::with_capacity_and_hasher(jar.entries().len() * 2, Default::default());
    let mut order: Vec<&str> = Vec::with_capacity(jar.entries().len());
    for (i, e) in jar.entries().iter().enumerate() {
        let name = e.name.as_str();
        let mut candidates: [Option<(&str, u32)>; 3] = [Some((name, 1)), None, None];
        if e.is_dir && name.len() > 1 {
            candidates[1] = Some((&name[..name.len() - 1], 0));
        }
        if jar.is_multi_release() {
            if let Some((v, rest)) = versioned(name) {
                if (9..=release).contains(&v) && !rest.is_empty() && !rest.starts_with("META-INF/") {
                    candidates[2] = Some((rest, 2 + v));
                }
            }
        }
        for (n, rank) in candidates.into_iter().flatten() {
            match best.get_mut(n) {
                None => {
                    best.insert(n, (rank, i));
                    order.push(n);
                }
                Some(slot) if rank > slot.0 => *slot = (rank, i),
                Some(_) => {}
            }
        }
    }
    order.into_iter().map(|n| (n, best[n].1)).collect()
}

/// Splits `META-INF/versions/N/rest` into `(N, rest)`.
fn versioned(name: &str) -> Option<(u32, &str)> {
    let tail = name.strip_prefix("META-INF/versions/")?;
    let (n, rest) = tail.split_once('/')?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) || n.len() > 9 {
        return None;
    }
    Some((n.parse().ok()?, rest))
}

/// Lists the jars a classpath element stands for: a jar itself, or the `*.jar` files of a
/// directory (sorted by name, not recursive).
pub fn expand_classpath_element(path: &Path) -> Result<Vec<PathBuf>, IndexError> {
    let err = |message: String| IndexError {
        jar: path.to_path_buf(),
        message,
    };
    let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
    if meta.is_dir() {
        let mut jars = Vec::new();
        for entry in std::fs::read_dir(path).map_err(|e| err(e.to_string()))? {
            let p = entry.map_err(|e| err(e.to_string()))?.path();
            if p.is_file() && p.extension().is_some_and(|x| x.eq_ignore_ascii_case("jar")) {
                jars.push(p);
            }
        }
        jars.sort();
        Ok(jars)
    } else {
        Ok(vec![path.to_path_buf()])
    }
}
