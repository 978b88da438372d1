//! `shape.txt`: which Flink classes a drop-in component replaces, and the members Flink's
//! original must declare for the replacement to be safe; and the check of an original (and of
//! its replacement) against it.
//!
//! Format, one item per line, `#` starts a comment:
//!
//! ```text
//! class org/apache/flink/util/FlinkUserCodeClassLoader     # starts a substituted class
//! super org/apache/flink/util/MutableURLClassLoader        # optional: the original's superclass
//! field NOOP_EXCEPTION_HANDLER Ljava/util/function/Consumer;
//! method loadClass (Ljava/lang/String;Z)Ljava/lang/Class;
//! ```
//!
//! An original matches when (see [`check_original`]) it is the named class, has the given
//! superclass, declares every listed member, declares no non-private member that is not
//! listed (its static initializer aside) (other classes of Flink may link against any of those, and the replacement was
//! written against the list), and hosts no nest (nest members may use its private members).
//! A replacement fits its original when (see [`check_replacement`]) it has the same class
//! access, superclass and interfaces, and declares every listed member with the same
//! `static`-ness and at least the original's visibility.

use super::classfile::{ClassShape, Member, ACC_PRIVATE, ACC_STATIC};

/// The expected shape of one substituted class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassSpec {
    /// Internal name.
    pub name: String,
    /// The original's superclass, when the file says.
    pub super_name: Option<String>,
    pub fields: Vec<(String, String)>,
    pub methods: Vec<(String, String)>,
}

/// A parsed `shape.txt`: the substituted classes, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Shape {
    pub classes: Vec<ClassSpec>,
}

/// A `shape.txt` line that is not understood; names the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for ShapeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "shape.txt line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ShapeError {}

impl Shape {
    /// Parses `shape.txt`.
    pub fn parse(text: &str) -> Result<Shape, ShapeError> {
        let mut shape = Shape::default();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let err = |message: String| ShapeError { line: i + 1, message };
            let words: Vec<&str> = line.split_whitespace().collect();
            match (words[0], words.len()) {
                ("class", 2) => shape.classes.push(ClassSpec {
                    name: words[1].to_string(),
                    super_name: None,
                    fields: Vec::new(),
                    methods: Vec::new(),
                }),
                ("super" | "field" | "method", _) if shape.classes.is_empty() => {
                    return Err(err(format!("'{}' before any 'class' line", words[0])))
                }
                ("super", 2) => shape.classes.last_mut().unwrap().super_name = Some(words[1].to_string()),
                ("field", 3) => {
                    let c = shape.classes.last_mut().unwrap();
                    c.fields.push((words[1].to_string(), words[2].to_string()));
                }
                ("method", 3) => {
                    let c = shape.classes.last_mut().unwrap();
                    c.methods.push((words[1].to_string(), words[2].to_string()));
                }
                _ => {
                    return Err(err(format!(
                        "expected 'class NAME', 'super NAME', 'field NAME DESCRIPTOR' or 'method NAME DESCRIPTOR', got '{line}'"
                    )))
                }
            }
        }
        Ok(shape)
    }
}

fn visibility(access: u16) -> u8 {
    match access & 0x0007 {
        0x0001 => 3, // public
        0x0004 => 2, // protected
        0x0002 => 0, // private
        _ => 1,      // package
    }
}

fn dotted(m: &Member) -> String {
    format!("{} {}", m.name, m.descriptor)
}

/// Checks Flink's original class against the spec; the error says what differs.
pub fn check_original(spec: &ClassSpec, original: &ClassShape) -> Result<(), String> {
    if original.name != spec.name {
        return Err(format!("expected class {}, found {}", spec.name, original.name));
    }
    if let Some(s) = &spec.super_name {
        if original.super_name.as_deref() != Some(s.as_str()) {
            return Err(format!(
                "{} extends {}, expected {s}",
                spec.name,
                original.super_name.as_deref().unwrap_or("nothing")
            ));
        }
    }
    for (name, desc) in &spec.fields {
        if original.field(name, desc).is_none() {
            return Err(format!("{} has no field {name} {desc}", spec.name));
        }
    }
    for (name, desc) in &spec.methods {
        if original.method(name, desc).is_none() {
            return Err(format!("{} has no method {name}{desc}", spec.name));
        }
    }
    let listed_field = |m: &Member| spec.fields.iter().any(|(n, d)| *n == m.name && *d == m.descriptor);
    let listed_method = |m: &Member| spec.methods.iter().any(|(n, d)| *n == m.name && *d == m.descriptor);
    if let Some(m) = original
        .fields
        .iter()
        .find(|m| m.access & ACC_PRIVATE == 0 && !listed_field(m))
    {
        return Err(format!(
            "{} declares field {} that tmrt does not know",
            spec.name,
            dotted(m)
        ));
    }
    if let Some(m) = original
        .methods
        .iter()
        // A static initializer is never linked against: it need not be listed.
        .find(|m| m.access & ACC_PRIVATE == 0 && m.name != "<clinit>" && !listed_method(m))
    {
        return Err(format!(
            "{} declares method {} that tmrt does not know",
            spec.name,
            dotted(m)
        ));
    }
    if let Some(n) = original.nest_members.first() {
        return Err(format!(
            "{} hosts nested class {n}, which may use its private members",
            spec.name
        ));
    }
    Ok(())
}

/// The class-level access bits a replacement must share with its original.
const CLASS_KIND: u16 = 0x0001 | 0x0010 | 0x0200 | 0x0400; // public, final, interface, abstract

/// Checks tmrt's replacement against the spec and Flink's original (already checked with
/// [`check_original`]); the error says what is wrong with the replacement.
pub fn check_replacement(spec: &ClassSpec, original: &ClassShape, replacement: &ClassShape) -> Result<(), String> {
    if replacement.name != original.name {
        return Err(format!(
            "replacement is class {}, not {}",
            replacement.name, original.name
        ));
    }
    if replacement.access & CLASS_KIND != original.access & CLASS_KIND {
        return Err(format!(
            "replacement of {} has class access {:#06x}, the original {:#06x}",
            spec.name,
            replacement.access & CLASS_KIND,
            original.access & CLASS_KIND
        ));
    }
    if replacement.super_name != original.super_name {
        return Err(format!(
            "replacement of {} extends {}, the original {}",
            spec.name,
            replacement.super_name.as_deref().unwrap_or("nothing"),
            original.super_name.as_deref().unwrap_or("nothing")
        ));
    }
    let mut ri = replacement.interfaces.clone();
    let mut oi = original.interfaces.clone();
    ri.sort();
    oi.sort();
    if ri != oi {
        return Err(format!(
            "replacement of {} implements {ri:?}, the original {oi:?}",
            spec.name
        ));
    }
    let pairs = spec
        .fields
        .iter()
        .map(|(n, d)| (original.field(n, d), replacement.field(n, d), "field", n, d))
        .chain(
            spec.methods
                .iter()
                .map(|(n, d)| (original.method(n, d), replacement.method(n, d), "method", n, d)),
        );
    for (o, r, kind, n, d) in pairs {
        let Some(o) = o else {
            return Err(format!("original {} has no {kind} {n} {d}", spec.name));
        };
        let Some(r) = r else {
            return Err(format!("replacement of {} lacks {kind} {n} {d}", spec.name));
        };
        if (o.access ^ r.access) & ACC_STATIC != 0 {
            return Err(format!(
                "replacement of {}: {kind} {n} {d} differs in being static",
                spec.name
            ));
        }
        if visibility(r.access) < visibility(o.access) {
            return Err(format!("replacement of {}: {kind} {n} {d} is less visible", spec.name));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::classfile::{parse, tests::tiny_class};
    use super::*;

    const SPEC: &str =
        "# tiny\nclass a/B\nsuper java/lang/Object\nfield x I   # private, listed anyway\nmethod m ()V\n";

    #[test]
    fn parses_the_format() {
        let s = Shape::parse(SPEC).unwrap();
        assert_eq!(s.classes.len(), 1);
        let c = &s.classes[0];
        assert_eq!(c.name, "a/B");
        assert_eq!(c.super_name.as_deref(), Some("java/lang/Object"));
        assert_eq!(c.fields, vec![("x".to_string(), "I".to_string())]);
        assert_eq!(c.methods, vec![("m".to_string(), "()V".to_string())]);
        let e = Shape::parse("method m ()V\n").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(Shape::parse("class a/B\nmethod m\n")
            .unwrap_err()
            .to_string()
            .contains("line 2"));
    }

    #[test]
    fn original_checks() {
        let shape = parse(&tiny_class(false)).unwrap();
        let spec = &Shape::parse(SPEC).unwrap().classes[0];
        assert_eq!(check_original(spec, &shape), Ok(()));
        // An unlisted non-private member: the original is not the version tmrt knows.
        let only_field = Shape::parse("class a/B\nfield x I\n").unwrap();
        assert!(check_original(&only_field.classes[0], &shape)
            .unwrap_err()
            .contains("method m ()V that tmrt does not know"));
        // A private member need not be listed.
        let only_method = Shape::parse("class a/B\nmethod m ()V\n").unwrap();
        assert_eq!(check_original(&only_method.classes[0], &shape), Ok(()));
        let wrong_super = Shape::parse("class a/B\nsuper a/C\nmethod m ()V\n").unwrap();
        assert!(check_original(&wrong_super.classes[0], &shape)
            .unwrap_err()
            .contains("extends java/lang/Object"));
        let missing = Shape::parse("class a/B\nmethod m ()V\nmethod n ()V\n").unwrap();
        assert!(check_original(&missing.classes[0], &shape)
            .unwrap_err()
            .contains("no method n()V"));
        let nested = parse(&tiny_class(true)).unwrap();
        assert!(check_original(spec, &nested)
            .unwrap_err()
            .contains("nested class a/B$C"));
    }

    #[test]
    fn replacement_checks() {
        let original = parse(&tiny_class(false)).unwrap();
        let spec = &Shape::parse(SPEC).unwrap().classes[0];
        assert_eq!(check_replacement(spec, &original, &original), Ok(()));
        let mut r = original.clone();
        r.methods.clear();
        assert!(check_replacement(spec, &original, &r)
            .unwrap_err()
            .contains("lacks method m ()V"));
        let mut r = original.clone();
        r.methods[0].access = 0x0002;
        assert!(check_replacement(spec, &original, &r)
            .unwrap_err()
            .contains("less visible"));
        let mut r = original.clone();
        r.methods[0].access |= ACC_STATIC;
        assert!(check_replacement(spec, &original, &r).unwrap_err().contains("static"));
        let mut r = original.clone();
        r.super_name = Some("a/Other".into());
        assert!(check_replacement(spec, &original, &r)
            .unwrap_err()
            .contains("extends a/Other"));
        let mut r = original.clone();
        r.interfaces.clear();
        assert!(check_replacement(spec, &original, &r)
            .unwrap_err()
            .contains("implements"));
        let mut r = original.clone();
        r.access |= 0x0010;
        assert!(check_replacement(spec, &original, &r)
            .unwrap_err()
            .contains("class access"));
    }
}
