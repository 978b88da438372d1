//! Resolution and conflict analysis over jars written by the test, without a JVM: which copy a
//! Flink user-code classloader picks under each resolve order and pattern set, and the symptom
//! reported for each kind of duplicate.

use std::io::Write;
use std::path::{Path, PathBuf};

use runtime::classload::{
    analyse, resolve, ClassLoadingOptions, JarIndex, ParentFirstPatterns, ResolveOrder, Side, Step, Symptom, WinReason,
};
use runtime::config::{Configuration, FlinkVersion};
use zip::write::SimpleFileOptions;
use zip::ZipWriter;

fn jar(dir: &Path, name: &str, entries: &[(&str, &str)]) -> PathBuf {
    let p = dir.join(name);
    let mut w = ZipWriter::new(std::fs::File::create(&p).unwrap());
    for (n, data) in entries {
        w.start_file(*n, SimpleFileOptions::default()).unwrap();
        w.write_all(data.as_bytes()).unwrap();
    }
    w.finish().unwrap();
    p
}

struct Setup {
    parent: JarIndex,
    user: JarIndex,
}

fn setup(test: &str) -> Setup {
    let dir = std::env::temp_dir().join(format!("tmrt-analysis-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let lib = jar(
        &dir,
        "lib.jar",
        &[
            ("com/acme/Dup.class", "parent"),
            ("com/acme/Same.class", "same"),
            ("org/apache/flink/Core.class", "core"),
            ("org/apache/flink/Skew.class", "skew 1"),
            ("com/acme/ParentOnly.class", "p"),
        ],
    );
    let job = jar(
        &dir,
        "job.jar",
        &[
            ("com/acme/Dup.class", "user"),
            ("com/acme/Same.class", "same"),
            ("org/apache/flink/Core.class", "core"),
            ("org/apache/flink/Skew.class", "skew 2"),
            ("org/apache/flink/UserSide.class", "u"),
            ("com/job/Main.class", "main 1"),
            ("module-info.class", "ignored"),
            ("META-INF/versions/11/com/job/Main.class", "ignored raw versioned"),
        ],
    );
    let dep = jar(
        &dir,
        "dep.jar",
        &[("com/job/Main.class", "main 2"), ("com/job/Util.class", "u")],
    );
    let dep2 = jar(&dir, "dep2.jar", &[("com/job/Util.class", "u")]);
    Setup {
        parent: JarIndex::open(&[lib], 17).unwrap(),
        user: JarIndex::open(&[job, dep, dep2], 17).unwrap(),
    }
}

fn defaults() -> ParentFirstPatterns {
    ParentFirstPatterns::new(ClassLoadingOptions::defaults(FlinkVersion::V1_20).parent_first_patterns)
}

#[test]
fn resolution_follows_the_resolve_order_and_patterns() {
    let s = setup("resolve");
    let p = defaults();
    let r = resolve("com.acme.Dup", ResolveOrder::ChildFirst, &p, &s.parent, &s.user);
    assert_eq!(r.resource, "com/acme/Dup.class");
    assert_eq!(r.steps[0], Step::NoPattern);
    assert_eq!(r.winner.map(|(side, l)| (side, l.jar)), Some((Side::User, 0)));
    assert_eq!(r.copies.len(), 2);

    let r = resolve(
        "org/apache/flink/Core.class",
        ResolveOrder::ChildFirst,
        &p,
        &s.parent,
        &s.user,
    );
    assert_eq!(r.class, "org.apache.flink.Core");
    assert_eq!(
        r.steps[0],
        Step::ParentFirstPattern {
            pattern: "org.apache.flink.".into()
        }
    );
    assert_eq!(r.winner.map(|(side, _)| side), Some(Side::Parent));

    // A patterned class the parent lacks still comes from the user jars (standard delegation).
    let r = resolve(
        "org.apache.flink.UserSide",
        ResolveOrder::ChildFirst,
        &p,
        &s.parent,
        &s.user,
    );
    assert_eq!(r.winner.map(|(side, _)| side), Some(Side::User));
    assert_eq!(r.steps.len(), 3);

    let r = resolve("com.acme.Dup", ResolveOrder::ParentFirst, &p, &s.parent, &s.user);
    assert_eq!(r.steps[0], Step::ParentFirstOrder);
    assert_eq!(r.winner.map(|(side, _)| side), Some(Side::Parent));

    let r = resolve("com.nowhere.X", ResolveOrder::ChildFirst, &p, &s.parent, &s.user);
    assert!(r.winner.is_none() && r.copies.is_empty());
}

#[test]
fn conflicts_are_grouped_with_winner_and_symptom() {
    let s = setup("conflicts");
    let options = ClassLoadingOptions::defaults(FlinkVersion::V1_20);
    let report = analyse(&options, &s.parent, &s.user).unwrap();
    assert!(report.has_conflicts());
    assert_eq!(report.conflicting_classes(), 4);
    assert_eq!(report.conflicts.len(), 2);
    // Worst first: the user copy of com.acme wins, two live copies.
    let acme = &report.conflicts[0];
    assert_eq!(acme.package, "com.acme");
    assert_eq!(acme.classes, ["com.acme.Dup", "com.acme.Same"]);
    assert_eq!(acme.differing, ["com.acme.Dup"]);
    assert_eq!(acme.winner, Side::User);
    assert_eq!(acme.reason, WinReason::ChildFirst);
    assert_eq!(acme.symptom, Symptom::ClassCast);
    assert!(acme.winning_jar.ends_with("job.jar"));
    let flink = &report.conflicts[1];
    assert_eq!(flink.package, "org.apache.flink");
    assert_eq!(flink.differing, ["org.apache.flink.Skew"]);
    assert_eq!(flink.symptom, Symptom::NoSuchMethod);
    assert!(flink.winning_jar.ends_with("lib.jar"));

    // Inside the user jars: Main differs (version skew), Util is an identical copy.
    assert_eq!(report.user_duplicates.len(), 2);
    let main = report
        .user_duplicates
        .iter()
        .find(|g| g.classes == ["com.job.Main"])
        .unwrap();
    assert_eq!(main.symptom, Symptom::NoSuchMethod);
    assert_eq!(main.reason, WinReason::ClasspathOrder);
    assert!(main.first_jar.ends_with("job.jar") && main.second_jar.ends_with("dep.jar"));
    let util = report
        .user_duplicates
        .iter()
        .find(|g| g.classes == ["com.job.Util"])
        .unwrap();
    assert_eq!(util.symptom, Symptom::Shadowed);
    assert!(util.first_jar.ends_with("dep.jar") && util.second_jar.ends_with("dep2.jar"));
}

#[test]
fn configuration_changes_the_winners() {
    let s = setup("config");
    let conf = Configuration::from_pairs([("classloader.parent-first-patterns.additional", "com.acme.")]);
    let options = ClassLoadingOptions::from_config(&conf, FlinkVersion::V1_20).unwrap();
    let report = analyse(&options, &s.parent, &s.user).unwrap();
    let acme = report.conflicts.iter().find(|g| g.package == "com.acme").unwrap();
    assert_eq!(acme.winner, Side::Parent);
    assert_eq!(
        acme.reason,
        WinReason::ParentFirstPattern {
            pattern: "com.acme.".into()
        }
    );
    assert_eq!(acme.symptom, Symptom::NoSuchMethod);

    let conf = Configuration::from_pairs([("classloader.resolve-order", "parent-first")]);
    let options = ClassLoadingOptions::from_config(&conf, FlinkVersion::V1_13).unwrap();
    let report = analyse(&options, &s.parent, &s.user).unwrap();
    assert!(report
        .conflicts
        .iter()
        .all(|g| g.winner == Side::Parent && g.reason == WinReason::ParentFirstOrder));
}
