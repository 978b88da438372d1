//! The job's entry class before anything runs: the one `--entry` names, or the one the jar's
//! manifest names as Flink's `PackagedProgram` reads it (`program-class`, else `Main-Class`), so
//! that a jar without an entry is bad input said before a JVM starts.

/// The value of manifest attribute `name` (case-insensitive, as `java.util.jar.Attributes`),
/// continuation lines joined, in the main section (before the first blank line).
pub fn manifest_attribute(manifest: &str, name: &str) -> Option<String> {
    let mut lines: Vec<String> = Vec::new();
    for raw in manifest.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.is_empty() {
            break;
        }
        match (line.strip_prefix(' '), lines.last_mut()) {
            (Some(more), Some(last)) => last.push_str(more),
            _ => lines.push(line.to_string()),
        }
    }
    lines.iter().find_map(|l| {
        let (key, value) = l.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim().to_string())
    })
}

/// The entry class Flink's client takes from a jar's manifest: `program-class`, else `Main-Class`.
pub fn manifest_entry_class(manifest: &str) -> Option<String> {
    ["program-class", "Main-Class"]
        .iter()
        .find_map(|k| manifest_attribute(manifest, k))
        .filter(|v| !v.is_empty())
}

/// The jar entry of a class: `a.b.C` → `a/b/C.class`.
pub fn class_file(class: &str) -> String {
    format!("{}.class", class.replace('.', "/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn main_class_with_continuation_lines_and_program_class_first() {
        let m = "Manifest-Version: 1.0\r\nMain-Class: e2e.very.long.packa\r\n ge.Main\r\nCreated-By: x\r\n\r\nName: other\r\nMain-Class: not.This\r\n";
        assert_eq!(manifest_entry_class(m).as_deref(), Some("e2e.very.long.package.Main"));
        let both = "program-class: a.Program\nMain-Class: a.Main\n";
        assert_eq!(manifest_entry_class(both).as_deref(), Some("a.Program"));
        assert_eq!(
            manifest_attribute("main-class: x.Y\n", "Main-Class").as_deref(),
            Some("x.Y")
        );
        assert_eq!(manifest_entry_class("Manifest-Version: 1.0\n"), None);
        assert_eq!(manifest_entry_class("Main-Class: \n"), None);
        assert_eq!(manifest_entry_class(""), None);
    }

    #[test]
    fn class_files_are_slash_separated() {
        assert_eq!(class_file("a.b.C$D"), "a/b/C$D.class");
    }
}
