//! `tmrt classpath`: the classes a job's jars share with Flink's `lib/` (and with each other),
//! which copy Flink's user-code classloader will pick under the configured resolve order and
//! patterns, and what usually breaks. `--explain CLASS` shows one class's resolution path.
//!
//! The analysis is `runtime::classload`'s; this module only reads the input and renders.
//! Exit status: 0 no conflict, 3 conflicts (with `--explain`: the class has more than one
//! copy), 1 bad input (an unreadable or non-jar `--lib`/`--user`, named with its flag; a bad
//! `--explain` class; a bad configuration; more jars than open files allowed) or stdout not
//! writable. Like the JVM, it first raises its soft open-file limit to the hard one, since every
//! jar stays open while the index lives.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use runtime::classload::{
    analyse, expand_classpath_element, resolve, ClassLoadingOptions, ClasspathReport, ConflictGroup, IndexError,
    JarIndex, ParentFirstPatterns, Resolution, Side, Step, DEFAULT_RELEASE,
};
use serde_json::json;

use super::config_args::ConfigArgs;
use super::emit;

/// Exit status when conflicts are found.
pub const EXIT_CONFLICTS: u8 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ClasspathArgs {
    /// The parent classpath (Flink's lib/): jars, or directories of jars (repeatable).
    #[arg(long = "lib", value_name = "PATH", num_args = 1.., required = true, action = clap::ArgAction::Append)]
    pub lib: Vec<PathBuf>,

    /// The job's jars, in classpath order: jars, or directories of jars (repeatable).
    #[arg(long = "user", value_name = "PATH", num_args = 1.., required = true, action = clap::ArgAction::Append)]
    pub user: Vec<PathBuf>,

    #[command(flatten)]
    pub config: ConfigArgs,

    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,

    /// Show how one class (a.b.C or a/b/C.class) is resolved, instead of the whole report.
    #[arg(long, value_name = "CLASS")]
    pub explain: Option<String>,
}

const COMMAND: &str = "tmrt classpath";

/// Descriptors kept free beyond one per jar (stdio, the configuration file, the allocator's).
const SPARE_FILES: libc::rlim_t = 64;

/// The jars of each `--lib`/`--user` element, in order; an element that is neither a directory
/// nor a regular file (a FIFO would block the reader) is refused, named with its flag.
fn expand(flag: &str, paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut jars = Vec::new();
    for p in paths {
        let elements = expand_classpath_element(p).map_err(|e| format!("{flag}: {e}"))?;
        for jar in elements {
            let meta =
                std::fs::metadata(&jar).map_err(|e| format!("{flag}: cannot read jar {}: {e}", jar.display()))?;
            if !meta.is_file() {
                return Err(format!(
                    "{flag}: {} is {}, not a jar",
                    jar.display(),
                    file_kind(&meta.file_type())
                ));
            }
            jars.push(jar);
        }
    }
    Ok(jars)
}

fn file_kind(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

fn open(flag: &str, jars: &[PathBuf]) -> Result<JarIndex, String> {
    JarIndex::open(jars, DEFAULT_RELEASE).map_err(|e: IndexError| format!("{flag}: {e}"))
}

/// `--explain`'s class: a binary name (`a.b.C`, `a.b.C$Inner`) or an entry name (`a/b/C.class`)
/// with no empty segment, whitespace or control character.
fn check_class_name(class: &str) -> Result<(), String> {
    let stem = class.strip_suffix(".class").unwrap_or(class);
    let ok = !stem.is_empty()
        && stem.split(['.', '/']).all(|segment| !segment.is_empty())
        && !stem
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, ';' | '['));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "bad --explain '{}': expected a class name such as a.b.C or a/b/C.class",
            class.escape_debug()
        ))
    }
}

pub fn run(args: ClasspathArgs) -> u8 {
    let fail = |message: String| {
        eprintln!("{COMMAND}: {message}");
        1
    };
    if let Some(class) = &args.explain {
        if let Err(e) = check_class_name(class) {
            return fail(e);
        }
    }
    let options = match args
        .config
        .load()
        .map_err(|e| e.to_string())
        .and_then(|c| ClassLoadingOptions::from_config(&c, args.config.flink_version).map_err(|e| e.to_string()))
    {
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    for w in &options.warnings {
        eprintln!("{COMMAND}: warning: {w}");
    }
    let (lib_jars, user_jars) = match expand("--lib", &args.lib).and_then(|l| Ok((l, expand("--user", &args.user)?))) {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    // Every jar stays open while the index lives (entries are read on demand).
    let needed = (lib_jars.len() + user_jars.len()) as libc::rlim_t + SPARE_FILES;
    if let Some(limit) = super::raise_open_file_limit() {
        if limit < needed {
            return fail(format!(
                "{} jars need about {needed} open files, more than this process may open ({limit}; \
                 the hard limit of `ulimit -n`)",
                lib_jars.len() + user_jars.len()
            ));
        }
    }
    let (parent, user) = match open("--lib", &lib_jars).and_then(|p| Ok((p, open("--user", &user_jars)?))) {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    let written = if let Some(class) = &args.explain {
        let patterns = ParentFirstPatterns::new(&options.parent_first_patterns);
        let r = resolve(class, options.resolve_order, &patterns, &parent, &user);
        let written = match args.format {
            Format::Text => emit(&render_explanation_text(
                &r,
                &options,
                &parent,
                &user,
                args.config.flink_version.as_str(),
            )),
            Format::Json => emit(&format!("{}\n", render_explanation_json(&r, &options, &parent, &user))),
        };
        written.map(|()| if r.copies.len() > 1 { EXIT_CONFLICTS } else { 0 })
    } else {
        let report = match analyse(&options, &parent, &user) {
            Ok(r) => r,
            Err(e) => return fail(e.to_string()),
        };
        let written = match args.format {
            Format::Text => emit(&render_text(&report, &options, args.config.flink_version.as_str())),
            Format::Json => {
                let mut v = serde_json::to_value(&report).expect("report serializes");
                v["flink_version"] = json!(args.config.flink_version.as_str());
                v["warnings"] = json!(options.warnings.iter().map(|w| w.message.clone()).collect::<Vec<_>>());
                v["has_conflicts"] = json!(report.has_conflicts());
                emit(&format!("{}\n", serde_json::to_string_pretty(&v).expect("json")))
            }
        };
        written.map(|()| if report.has_conflicts() { EXIT_CONFLICTS } else { 0 })
    };
    written.unwrap_or_else(|e| e.report(COMMAND))
}

const SHOWN_CLASSES: usize = 5;

fn reason_text(g: &ConflictGroup) -> String {
    use runtime::classload::WinReason::*;
    match &g.reason {
        ParentFirstPattern { pattern } => format!("parent-first pattern '{pattern}'"),
        ChildFirst => "child-first, no parent-first pattern matches".to_string(),
        ParentFirstOrder => "resolve order parent-first".to_string(),
        ClasspathOrder => "earlier on the user classpath".to_string(),
    }
}

fn render_group(out: &mut String, g: &ConflictGroup, first_label: &str, second_label: &str) {
    let n = g.classes.len();
    out.push_str(&format!(
        "  package {} ({n} class{})\n",
        g.package,
        if n == 1 { "" } else { "es" }
    ));
    out.push_str(&format!("    {first_label} {}\n", g.first_jar.display()));
    out.push_str(&format!("    {second_label} {}\n", g.second_jar.display()));
    let side = match g.winner {
        Side::Parent => "parent",
        Side::User => "user",
    };
    out.push_str(&format!(
        "    wins:   {side} copy in {} ({})\n",
        g.winning_jar.display(),
        reason_text(g)
    ));
    out.push_str(&format!("    bytes:  {} of {n} differ\n", g.differing.len()));
    out.push_str(&format!("    likely: {}\n", g.symptom.description()));
    let shown: Vec<&str> = g.classes.iter().take(SHOWN_CLASSES).map(String::as_str).collect();
    let more = n.saturating_sub(SHOWN_CLASSES);
    out.push_str(&format!(
        "    classes: {}{}\n",
        shown.join(", "),
        if more > 0 {
            format!(", … {more} more")
        } else {
            String::new()
        }
    ));
}

/// The text report.
pub fn render_text(r: &ClasspathReport, options: &ClassLoadingOptions, version: &str) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "Flink {version}: classloader.resolve-order {}, {} always-parent-first patterns\n",
        r.resolve_order,
        options.parent_first_patterns.len()
    ));
    out.push_str(&format!(
        "parent classpath: {} jar(s); user classpath: {} jar(s)\n",
        r.parent_jars.len(),
        r.user_jars.len()
    ));
    for w in &options.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    out.push('\n');
    let conflict_classes = r.conflicting_classes();
    if r.conflicts.is_empty() {
        out.push_str("No class is both in the parent classpath and in the user jars.\n");
    } else {
        out.push_str(&format!(
            "Classes both in the parent classpath and in the user jars: {conflict_classes} in {} group(s)\n",
            r.conflicts.len()
        ));
        for g in &r.conflicts {
            render_group(&mut out, g, "parent:", "user:  ");
        }
    }
    out.push('\n');
    let dup_classes: usize = r.user_duplicates.iter().map(|g| g.classes.len()).sum();
    if r.user_duplicates.is_empty() {
        out.push_str("No class is in more than one user jar.\n");
    } else {
        out.push_str(&format!(
            "Classes in more than one user jar: {dup_classes} in {} group(s)\n",
            r.user_duplicates.len()
        ));
        for g in &r.user_duplicates {
            render_group(&mut out, g, "first: ", "second:");
        }
    }
    out.push('\n');
    if r.has_conflicts() {
        out.push_str(&format!(
            "{conflict_classes} conflicting class(es), {dup_classes} duplicated in user jars (exit status 3)\n"
        ));
    } else {
        out.push_str("No conflicts.\n");
    }
    out
}

fn jar_path(index: &JarIndex, jar: u32) -> String {
    index
        .jar(jar)
        .map(|j| j.path().display().to_string())
        .unwrap_or_default()
}

fn side_index<'a>(side: Side, parent: &'a JarIndex, user: &'a JarIndex) -> &'a JarIndex {
    match side {
        Side::Parent => parent,
        Side::User => user,
    }
}

fn side_name(side: Side) -> &'static str {
    match side {
        Side::Parent => "parent classpath",
        Side::User => "user jars",
    }
}

/// `--explain` as text.
pub fn render_explanation_text(
    r: &Resolution,
    options: &ClassLoadingOptions,
    parent: &JarIndex,
    user: &JarIndex,
    version: &str,
) -> String {
    let mut out = format!(
        "{} ({}), Flink {version}, classloader.resolve-order {}\n",
        r.class, r.resource, options.resolve_order
    );
    for (i, step) in r.steps.iter().enumerate() {
        let line = match step {
            Step::ParentFirstPattern { pattern } => {
                format!(
                    "'{}' starts with the always-parent-first pattern '{pattern}': parent first",
                    r.class
                )
            }
            Step::NoPattern => format!("no always-parent-first pattern matches '{}': user jars first", r.class),
            Step::ParentFirstOrder => "resolve order parent-first: parent first (patterns not consulted)".to_string(),
            Step::Lookup { side, found } => match found {
                Some(j) => format!(
                    "{}: found in {}",
                    side_name(*side),
                    jar_path(side_index(*side, parent, user), *j)
                ),
                None => format!("{}: not found", side_name(*side)),
            },
        };
        out.push_str(&format!("  {}. {line}\n", i + 1));
    }
    match r.winner {
        Some((side, loc)) => out.push_str(&format!(
            "  => loaded from {} ({})\n",
            jar_path(side_index(side, parent, user), loc.jar),
            side_name(side)
        )),
        None => out
            .push_str("  => ClassNotFoundException (unless the JDK itself provides it: JDK classes are not indexed)\n"),
    }
    if r.copies.len() > 1 {
        out.push_str(&format!("  {} copies:\n", r.copies.len()));
        for (side, loc) in &r.copies {
            out.push_str(&format!(
                "    {:6} {}\n",
                match side {
                    Side::Parent => "parent",
                    Side::User => "user",
                },
                jar_path(side_index(*side, parent, user), loc.jar)
            ));
        }
    }
    out
}

/// `--explain` as JSON.
pub fn render_explanation_json(
    r: &Resolution,
    options: &ClassLoadingOptions,
    parent: &JarIndex,
    user: &JarIndex,
) -> String {
    let steps: Vec<serde_json::Value> = r
        .steps
        .iter()
        .map(|s| match s {
            Step::Lookup { side, found } => json!({
                "step": "lookup",
                "side": side,
                "found": found.map(|j| jar_path(side_index(*side, parent, user), j)),
            }),
            other => serde_json::to_value(other).expect("step serializes"),
        })
        .collect();
    let v = json!({
        "class": r.class,
        "resource": r.resource,
        "resolve_order": options.resolve_order,
        "steps": steps,
        "winner": r.winner.map(|(side, loc)| json!({"side": side, "jar": jar_path(side_index(side, parent, user), loc.jar)})),
        "copies": r.copies.iter().map(|(side, loc)| json!({"side": side, "jar": jar_path(side_index(*side, parent, user), loc.jar)})).collect::<Vec<_>>(),
    });
    serde_json::to_string_pretty(&v).expect("json")
}
