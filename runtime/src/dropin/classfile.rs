//! Just enough of the class-file format (JVMS §4) to compare a class's shape with another's:
//! its name, superclass, interfaces, access flags, declared fields and methods (name,
//! descriptor, access), and the classes of its nest. Everything else (code, attributes) is
//! skipped by length.
//!
//! The parser never panics and never reads out of bounds: every length is checked against what
//! is left, constant-pool indices against the pool and its entry kinds, so arbitrary bytes give
//! an error, never a crash (property-tested). Names are decoded from modified UTF-8 as plain
//! UTF-8 where valid (every name tmrt compares is ASCII), else lossily, which can only make a
//! comparison fail.

/// `ACC_PRIVATE` of fields and methods.
pub const ACC_PRIVATE: u16 = 0x0002;
/// `ACC_STATIC` of fields and methods.
pub const ACC_STATIC: u16 = 0x0008;

/// A declared field or method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub access: u16,
    pub name: String,
    pub descriptor: String,
}

impl Member {
    pub fn is_private(&self) -> bool {
        self.access & ACC_PRIVATE != 0
    }
}

/// What a class file declares, as the JVM links against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassShape {
    pub major_version: u16,
    pub access: u16,
    /// Internal name, e.g. `org/apache/flink/util/FlinkUserCodeClassLoader`.
    pub name: String,
    /// Internal name of the superclass; `None` only for `java/lang/Object`.
    pub super_name: Option<String>,
    pub interfaces: Vec<String>,
    pub fields: Vec<Member>,
    pub methods: Vec<Member>,
    /// Classes of the nest this class hosts (`NestMembers`): they may use its private members.
    pub nest_members: Vec<String>,
}

impl ClassShape {
    /// The declared field `name` with `descriptor`.
    pub fn field(&self, name: &str, descriptor: &str) -> Option<&Member> {
        self.fields
            .iter()
            .find(|m| m.name == name && m.descriptor == descriptor)
    }

    /// The declared method `name` with `descriptor`.
    pub fn method(&self, name: &str, descriptor: &str) -> Option<&Member> {
        self.methods
            .iter()
            .find(|m| m.name == name && m.descriptor == descriptor)
    }
}

/// Why bytes are not a class file this parser accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassFileError(pub String);

impl std::fmt::Display for ClassFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not a valid class file: {}", self.0)
    }
}

impl std::error::Error for ClassFileError {}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], ClassFileError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| ClassFileError(format!("truncated in {what} at byte {}", self.pos)))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u1(&mut self, what: &str) -> Result<u8, ClassFileError> {
        Ok(self.take(1, what)?[0])
    }

    fn u2(&mut self, what: &str) -> Result<u16, ClassFileError> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u4(&mut self, what: &str) -> Result<u32, ClassFileError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

#[derive(Clone, Copy)]
enum Constant<'a> {
    /// Index 0 and the second slot of longs and doubles.
    Unusable,
    Utf8(&'a [u8]),
    Class(u16),
    Other,
}

struct Pool<'a>(Vec<Constant<'a>>);

impl<'a> Pool<'a> {
    fn utf8(&self, index: u16, what: &str) -> Result<String, ClassFileError> {
        match self.0.get(index as usize) {
            Some(Constant::Utf8(b)) => Ok(match std::str::from_utf8(b) {
                Ok(s) => s.to_string(),
                Err(_) => String::from_utf8_lossy(b).into_owned(),
            }),
            _ => Err(ClassFileError(format!("{what}: constant {index} is not a Utf8 entry"))),
        }
    }

    fn class_name(&self, index: u16, what: &str) -> Result<String, ClassFileError> {
        match self.0.get(index as usize) {
            Some(Constant::Class(name)) => self.utf8(*name, what),
            _ => Err(ClassFileError(format!("{what}: constant {index} is not a Class entry"))),
        }
    }
}

fn parse_pool<'a>(r: &mut Reader<'a>) -> Result<Pool<'a>, ClassFileError> {
    let count = r.u2("constant pool count")? as usize;
    let mut pool = Vec::with_capacity(count.min(r.bytes.len() / 3 + 1));
    pool.push(Constant::Unusable);
    while pool.len() < count {
        let tag = r.u1("constant tag")?;
        let (entry, slots) = match tag {
            1 => {
                let len = r.u2("Utf8 length")? as usize;
                (Constant::Utf8(r.take(len, "Utf8 bytes")?), 1)
            }
            7 => (Constant::Class(r.u2("Class name index")?), 1),
            3 | 4 => {
                r.take(4, "Integer/Float")?;
                (Constant::Other, 1)
            }
            5 | 6 => {
                r.take(8, "Long/Double")?;
                (Constant::Other, 2)
            }
            8 | 16 | 19 | 20 => {
                r.take(2, "String/MethodType/Module/Package")?;
                (Constant::Other, 1)
            }
            9 | 10 | 11 | 12 | 17 | 18 => {
                r.take(4, "member reference")?;
                (Constant::Other, 1)
            }
            15 => {
                r.take(3, "MethodHandle")?;
                (Constant::Other, 1)
            }
            t => {
                return Err(ClassFileError(format!(
                    "unknown constant tag {t} at entry {}",
                    pool.len()
                )))
            }
        };
        pool.push(entry);
        if slots == 2 {
            pool.push(Constant::Unusable);
        }
    }
    if pool.len() > count {
        return Err(ClassFileError("a Long/Double takes the pool's last slot".into()));
    }
    Ok(Pool(pool))
}

fn skip_attributes(
    r: &mut Reader<'_>,
    pool: &Pool<'_>,
    mut each: impl FnMut(&str, &[u8]),
) -> Result<(), ClassFileError> {
    let n = r.u2("attribute count")?;
    for _ in 0..n {
        let name = pool.utf8(r.u2("attribute name")?, "attribute name")?;
        let len = r.u4("attribute length")? as usize;
        let body = r.take(len, "attribute body")?;
        each(&name, body);
    }
    Ok(())
}

fn members(r: &mut Reader<'_>, pool: &Pool<'_>, what: &str) -> Result<Vec<Member>, ClassFileError> {
    let n = r.u2(what)? as usize;
    let mut out = Vec::with_capacity(n.min(4096));
    for _ in 0..n {
        let access = r.u2("member access")?;
        let name = pool.utf8(r.u2("member name")?, "member name")?;
        let descriptor = pool.utf8(r.u2("member descriptor")?, "member descriptor")?;
        skip_attributes(r, pool, |_, _| {})?;
        out.push(Member {
            access,
            name,
            descriptor,
        });
    }
    Ok(out)
}

/// Parses the shape of a class file.
pub fn parse(bytes: &[u8]) -> Result<ClassShape, ClassFileError> {
    let mut r = Reader { bytes, pos: 0 };
    if r.u4("magic")? != 0xCAFE_BABE {
        return Err(ClassFileError("bad magic (expected 0xCAFEBABE)".into()));
    }
    let _minor = r.u2("minor version")?;
    let major_version = r.u2("major version")?;
    let pool = parse_pool(&mut r)?;
    let access = r.u2("access flags")?;
    let name = pool.class_name(r.u2("this_class")?, "this_class")?;
    let super_index = r.u2("super_class")?;
    let super_name = if super_index == 0 {
        None
    } else {
        Some(pool.class_name(super_index, "super_class")?)
    };
    let n = r.u2("interface count")?;
    let mut interfaces = Vec::with_capacity(n as usize);
    for _ in 0..n {
        interfaces.push(pool.class_name(r.u2("interface")?, "interface")?);
    }
    let fields = members(&mut r, &pool, "field count")?;
    let methods = members(&mut r, &pool, "method count")?;
    let mut nest_indices = Vec::new();
    let mut nest_error = None;
    skip_attributes(&mut r, &pool, |name, body| {
        if name == "NestMembers" {
            if body.len() < 2 || body.len() != 2 + 2 * u16::from_be_bytes([body[0], body[1]]) as usize {
                nest_error = Some(ClassFileError("malformed NestMembers attribute".into()));
                return;
            }
            nest_indices.extend(body[2..].chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])));
        }
    })?;
    if let Some(e) = nest_error {
        return Err(e);
    }
    let nest_members = nest_indices
        .into_iter()
        .map(|i| pool.class_name(i, "NestMembers"))
        .collect::<Result<_, _>>()?;
    if r.pos != bytes.len() {
        return Err(ClassFileError(format!(
            "{} bytes after the class file's end",
            bytes.len() - r.pos
        )));
    }
    Ok(ClassShape {
        major_version,
        access,
        name,
        super_name,
        interfaces,
        fields,
        methods,
        nest_members,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A hand-assembled class file: `public class a/B extends java/lang/Object implements
    /// java/io/Closeable` with a private field `x I`, a public method `m ()V` (no code) and
    /// `NestMembers a/B$C` when `nested`.
    pub(crate) fn tiny_class(nested: bool) -> Vec<u8> {
        let mut pool: Vec<Vec<u8>> = Vec::new();
        let utf8 = |s: &str| {
            let mut v = vec![1u8];
            v.extend((s.len() as u16).to_be_bytes());
            v.extend(s.as_bytes());
            v
        };
        let class = |i: u16| {
            let mut v = vec![7u8];
            v.extend(i.to_be_bytes());
            v
        };
        pool.push(utf8("a/B")); // 1
        pool.push(class(1)); // 2
        pool.push(utf8("java/lang/Object")); // 3
        pool.push(class(3)); // 4
        pool.push(utf8("java/io/Closeable")); // 5
        pool.push(class(5)); // 6
        pool.push(utf8("x")); // 7
        pool.push(utf8("I")); // 8
        pool.push(utf8("m")); // 9
        pool.push(utf8("()V")); // 10
        pool.push(vec![5, 0, 0, 0, 0, 0, 0, 0, 1]); // 11-12: a Long
        pool.push(utf8("NestMembers")); // 13
        pool.push(utf8("a/B$C")); // 14
        pool.push(class(14)); // 15
        let mut b = vec![0xCA, 0xFE, 0xBA, 0xBE, 0, 0, 0, 55];
        b.extend(16u16.to_be_bytes()); // entries 1..=15, the Long taking 11 and 12
        for p in &pool {
            b.extend(p);
        }
        b.extend(0x0021u16.to_be_bytes());
        b.extend(2u16.to_be_bytes());
        b.extend(4u16.to_be_bytes());
        b.extend(1u16.to_be_bytes());
        b.extend(6u16.to_be_bytes());
        // fields
        b.extend(1u16.to_be_bytes());
        b.extend([0x00, 0x02, 0, 7, 0, 8, 0, 0]);
        // methods
        b.extend(1u16.to_be_bytes());
        b.extend([0x00, 0x01, 0, 9, 0, 10, 0, 0]);
        if nested {
            b.extend(1u16.to_be_bytes());
            b.extend(13u16.to_be_bytes());
            b.extend(4u32.to_be_bytes());
            b.extend([0, 1, 0, 15]);
        } else {
            b.extend(0u16.to_be_bytes());
        }
        b
    }

    #[test]
    fn parses_a_hand_assembled_class() {
        let s = parse(&tiny_class(true)).unwrap();
        assert_eq!(s.name, "a/B");
        assert_eq!(s.super_name.as_deref(), Some("java/lang/Object"));
        assert_eq!(s.interfaces, vec!["java/io/Closeable"]);
        assert_eq!(s.major_version, 55);
        assert!(s.field("x", "I").unwrap().is_private());
        assert!(!s.method("m", "()V").unwrap().is_private());
        assert_eq!(s.nest_members, vec!["a/B$C"]);
        assert!(parse(&tiny_class(false)).unwrap().nest_members.is_empty());
    }

    #[test]
    fn every_truncation_is_an_error() {
        let b = tiny_class(true);
        for n in 0..b.len() {
            assert!(parse(&b[..n]).is_err(), "prefix of {n} bytes accepted");
        }
        let mut longer = b.clone();
        longer.push(0);
        assert!(parse(&longer).unwrap_err().0.contains("after the class file's end"));
    }

    #[test]
    fn bad_constant_references_are_errors() {
        let mut b = tiny_class(false);
        // this_class pointing at a Utf8 entry instead of a Class entry.
        // From the end: attributes count, method, methods count, field, fields count, interface,
        // interfaces count, super_class: 2 + 8 + 2 + 8 + 2 + 2 + 2 + 2 bytes, then this_class.
        let at = b.len() - 30;
        assert_eq!(&b[at..at + 2], &[0, 2]);
        b[at + 1] = 1;
        assert!(parse(&b).unwrap_err().0.contains("this_class"));
    }

    mod props {
        use super::super::parse;
        use super::tiny_class;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(4000))]

            /// Arbitrary bytes (with the magic, so that parsing goes past it) never panic.
            #[test]
            fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
                let mut b = vec![0xCA, 0xFE, 0xBA, 0xBE];
                b.extend(body);
                let _ = parse(&b);
            }

            /// A valid class with bytes flipped, cut or inserted parses or fails, never panics;
            /// untouched it parses to the same shape.
            #[test]
            fn mutated_classes_never_panic(
                edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..6),
                nested in any::<bool>(),
            ) {
                let original = tiny_class(nested);
                let mut b = original.clone();
                for (at, byte, kind) in edits {
                    let at = at % (b.len() + 1);
                    match kind {
                        0 if at < b.len() => b[at] = byte,
                        1 => b.insert(at, byte),
                        _ => b.truncate(at),
                    }
                }
                let _ = parse(&b);
                prop_assert_eq!(parse(&original).unwrap().name, "a/B");
            }
        }
    }
}
