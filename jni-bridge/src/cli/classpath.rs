//! `tmrt classpath`: the classes a job's jars share with Flink's `lib/` (and with each other),
//! which copy Flink's user-code classloader will pick under the configured resolve order and
//! patterns, and what usually breaks. `--explain CLASS` shows one class's resolution path.
//!
//! The analysis is `runtime::classload`'s; this module only reads the input and renders.
//! Exit status: 0 no conflict, 3 conflicts (with `--explain`: the class has more than one
//! copy), 1 unreadable jar or bad configuration.

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

fn open(paths: &[PathBuf]) -> Result<JarIndex, IndexError> {
    let mut jars = Vec::new();
    for p in paths {
        jars.extend(expand_classpath_element(p)?);
    }
    JarIndex::open(&jars, DEFAULT_RELEASE)
}

pub fn run(args: ClasspathArgs) -> u8 {
    let options = match args
        .config
        .load()
        .map_err(|e| e.to_string())
        .and_then(|c| ClassLoadingOptions::from_config(&c, args.config.flink_version).map_err(|e| e.to_string()))
    {
        Ok(o) => o,
        Err(e) => {
            eprintln!("tmrt classpath: {e}");
            return 1;
        }
    };
    for w in &options.warnings {
        eprintln!("tmrt classpath: warning: {w}");
    }
    let (parent, user) = match open(&args.lib).and_then(|p| Ok((p, open(&args.user)?))) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("tmrt classpath: {e}");
            return 1;
        }
    };
    if let Some(class) = &args.explain {
        let patterns = ParentFirstPatterns::new(&options.parent_first_patterns);
        let r = resolve(class, options.resolve_order, &patterns, &parent, &user);
        match args.format {
            Format::Text => emit(&render_explanation_text(
                &r,
                &options,
                &parent,
                &user,
                args.config.flink_version.as_str(),
            )),
            Format::Json => emit(&format!("{}\n", render_explanation_json(&r, &options, &parent, &user))),
        }
        return if r.copies.len() > 1 { EXIT_CONFLICTS } else { 0 };
    }
    let report = match analyse(&options, &parent, &user) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tmrt classpath: {e}");
            return 1;
        }
    };
    match args.format {
        Format::Text => emit(&render_text(&report, &options, args.config.flink_version.as_str())),
        Format::Json => {
            let mut v = serde_json::to_value(&report).expect("report serializes");
            v["flink_version"] = json!(args.config.flink_version.as_str());
            v["warnings"] = json!(options.warnings.iter().map(|w| w.message.clone()).collect::<Vec<_>>());
            v["has_conflicts"] = json!(report.has_conflicts());
            emit(&format!("{}\n", serde_json::to_string_pretty(&v).expect("json")));
        }
    }
    if report.has_conflicts() {
        EXIT_CONFLICTS
    } else {
        0
    }
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
