//! dev.tmrt.classload's loaders in a real JVM, over jars built here: the answers for classes,
//! resources and resource lists under both resolve orders, with default and additional
//! patterns, against Flink's documented semantics (explicit expectations), against a plain
//! `URLClassLoader` (CodeSource, Package, URLs), and against Flink's own
//! `FlinkUserCodeClassLoaders` from flink-dist 1.13.6, 1.20.3 and 2.2.0 when present.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::*;

/// Flink 1.20's default always-parent-first patterns.
const DEFAULTS: &str = "java.;scala.;org.apache.flink.;com.esotericsoftware.kryo;org.apache.hadoop.;javax.annotation.;org.xml;javax.xml;org.apache.xerces;org.w3c;org.rocksdb.;org.slf4j;org.apache.log4j;org.apache.logging;org.apache.commons.logging;ch.qos.logback";

fn who(pkg: &str, class: &str, tag: &str) -> (String, String) {
    (
        format!("{}/{class}.java", pkg.replace('.', "/")),
        format!("package {pkg}; public class {class} {{ public static String who() {{ return \"{tag}\"; }} }}"),
    )
}

fn write_files(root: &Path, files: &[(&str, &str)]) {
    for (rel, text) in files {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

/// Compiles `classes`, adds `resources`, and packs a jar with the JDK's `jar` tool (with a
/// manifest when given, and `--release 11` entries when given).
fn build_jar(
    dir: &Path,
    name: &str,
    classes: &[(String, String)],
    resources: &[(&str, &str)],
    manifest: Option<&str>,
    release11: Option<&[(&str, &str)]>,
) -> PathBuf {
    let work = dir.join(format!("{name}-build"));
    let sources: Vec<(&str, &str)> = classes.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    let out = if sources.is_empty() {
        let c = work.join("classes");
        std::fs::create_dir_all(&c).unwrap();
        c
    } else {
        compile_java(&work, &sources, &[])
    };
    write_files(&out, resources);
    let jar = dir.join(format!("{name}.jar"));
    let mut cmd = Command::new(jdk_tool("jar"));
    cmd.arg("--create").arg("--file").arg(&jar);
    if let Some(m) = manifest {
        let mf = work.join("manifest.txt");
        std::fs::write(&mf, m).unwrap();
        cmd.arg("--manifest").arg(mf);
    }
    cmd.arg("-C").arg(&out).arg(".");
    if let Some(v) = release11 {
        let d = work.join("v11");
        write_files(&d, v);
        cmd.args(["--release", "11", "-C"]).arg(&d).arg(".");
    }
    let st = cmd.status().unwrap();
    assert!(st.success(), "jar failed for {name}");
    jar
}

struct Fixture {
    dir: PathBuf,
    parent: PathBuf,
    users: Vec<PathBuf>,
    probe: PathBuf,
    queries: PathBuf,
}

const QUERIES: &str = "\
class com.acme.Dup
call com.acme.Dup
class com.acme.UserOnly
class com.acme.ParentOnly
class org.apache.flink.Shared
call org.apache.flink.Shared
class org.apache.flink.UserSide
class com.extra.Dup
call com.extra.Dup
class com.acme.Missing
class Toplevel
package com.acme.UserOnly
package com.plain.NoManifestAttrs
resource app.conf
resource user-only.txt
resource parent-only.txt
resource org/apache/flink/flink.conf
resource com/acme/
resource com/acme
resource dir with space/file name.txt
resource mr.txt
resource q/what?.txt
resource q/hash#x.txt
resource q/ünïcode.txt
resource q/semi;colon=equals.txt
resource nothing.txt
resources app.conf
resources org/apache/flink/flink.conf
resources com/acme/
resources nothing.txt
stream app.conf
stream mr.txt
";

fn fixture(test: &str) -> Fixture {
    let dir = scratch_dir(test);
    let parent = build_jar(
        &dir,
        "parent",
        &[
            who("com.acme", "Dup", "parent"),
            who("com.acme", "ParentOnly", "parent"),
            who("org.apache.flink", "Shared", "parent"),
            who("com.extra", "Dup", "parent"),
        ],
        &[
            ("app.conf", "parent"),
            ("parent-only.txt", "p"),
            ("org/apache/flink/flink.conf", "parent"),
        ],
        None,
        None,
    );
    let user1 = build_jar(
        &dir,
        "user1",
        &[
            who("com.acme", "Dup", "user1"),
            who("com.acme", "UserOnly", "user1"),
            who("org.apache.flink", "Shared", "user1"),
            who("org.apache.flink", "UserSide", "user1"),
            who("com.extra", "Dup", "user1"),
            ("Toplevel.java".to_string(), "public class Toplevel {}".to_string()),
        ],
        &[
            ("app.conf", "user1"),
            ("user-only.txt", "u"),
            ("org/apache/flink/flink.conf", "user1"),
            ("dir with space/file name.txt", "spaced"),
            ("q/what?.txt", "q"),
            ("q/hash#x.txt", "h"),
            ("q/ünïcode.txt", "u"),
            ("q/semi;colon=equals.txt", "s"),
        ],
        Some(
            "Implementation-Title: acme-user\nImplementation-Version: 1.2.3\nImplementation-Vendor: Acme\n\
             Specification-Title: acme-spec\nSpecification-Version: 4.5\n\nName: com/acme/\nImplementation-Title: acme-pkg\n",
        ),
        None,
    );
    let user2 = build_jar(
        &dir,
        "user2",
        &[
            who("com.acme", "Dup", "user2"),
            who("com.plain", "NoManifestAttrs", "user2"),
        ],
        &[("app.conf", "user2")],
        None,
        None,
    );
    let mr = build_jar(
        &dir,
        "multi",
        &[],
        &[("mr.txt", "base")],
        Some("Multi-Release: true\n"),
        Some(&[("mr.txt", "eleven")]),
    );
    let probe = compile_java(
        &dir.join("probe"),
        &[("Probe.java", include_str!("classload/Probe.java"))],
        &[tmrt_jar()],
    );
    let queries = dir.join("queries.txt");
    std::fs::write(&queries, QUERIES).unwrap();
    Fixture {
        dir,
        parent,
        users: vec![user1, user2, mr],
        probe,
        queries,
    }
}

/// Runs the probe and returns its answers, keyed by question.
fn probe(
    f: &Fixture,
    kind: &str,
    order: &str,
    patterns: &str,
    check: bool,
    extra_cp: &[PathBuf],
) -> BTreeMap<String, String> {
    let mut cp = vec![tmrt_jar(), f.probe.clone()];
    cp.extend_from_slice(extra_cp);
    let lib = format!("-Dtmrt.library={}", libtmrt().display());
    let cp = join_classpath(&cp);
    let dir = f.dir.display().to_string();
    let queries = f.queries.display().to_string();
    let parent = f.parent.display().to_string();
    let check = check.to_string();
    let mut args: Vec<&str> = vec![
        &lib, "-cp", &cp, "Probe", kind, order, patterns, &check, &dir, &queries, &parent,
    ];
    let users: Vec<String> = f.users.iter().map(|u| u.display().to_string()).collect();
    args.extend(users.iter().map(String::as_str));
    let out = run_java(&args);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "probe {kind} {order} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .filter_map(|l| l.split_once(" => "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn jar_url(name: &str) -> String {
    format!("file:$D/{name}.jar")
}

fn res_url(jar: &str, entry: &str) -> String {
    format!("jar:file:$D/{jar}.jar!/{entry}")
}

#[test]
fn child_first_follows_flinks_semantics() {
    let f = fixture("cl-child-first");
    let a = probe(&f, "tmrt", "child-first", DEFAULTS, true, &[]);
    let get = |k: &str| a.get(k).unwrap_or_else(|| panic!("no answer for {k}: {a:#?}")).as_str();
    assert_eq!(get("parallel-capable"), "true");
    assert_eq!(get("native-index"), "true");
    assert_eq!(get("concurrent-same"), "true");
    // Own jars first, in classpath order.
    assert_eq!(
        get("class com.acme.Dup"),
        format!("user {} signers=none", jar_url("user1"))
    );
    assert_eq!(get("call com.acme.Dup"), "user1");
    assert_eq!(
        get("class com.acme.UserOnly"),
        format!("user {} signers=none", jar_url("user1"))
    );
    assert_eq!(
        get("class com.acme.ParentOnly"),
        format!("parent {} signers=none", jar_url("parent"))
    );
    // Always-parent-first pattern: the parent's copy, and the own jars when the parent misses.
    assert_eq!(get("call org.apache.flink.Shared"), "parent");
    assert_eq!(
        get("class org.apache.flink.UserSide"),
        format!("user {} signers=none", jar_url("user1"))
    );
    assert_eq!(get("call com.extra.Dup"), "user1");
    assert_eq!(
        get("class com.acme.Missing"),
        "java.lang.ClassNotFoundException: com.acme.Missing"
    );
    assert_eq!(get("class Toplevel"), format!("user {} signers=none", jar_url("user1")));
    // Package information from the defining jar's manifest, per-package section first.
    assert_eq!(
        get("package com.acme.UserOnly"),
        "com.acme title=acme-pkg version=1.2.3 vendor=Acme spec=acme-spec/4.5 sealed=false"
    );
    // Resources: own jars first, patterns do not apply.
    assert_eq!(get("resource app.conf"), res_url("user1", "app.conf"));
    assert_eq!(
        get("resource org/apache/flink/flink.conf"),
        res_url("user1", "org/apache/flink/flink.conf")
    );
    assert_eq!(get("resource parent-only.txt"), res_url("parent", "parent-only.txt"));
    assert_eq!(
        get("resource dir with space/file name.txt"),
        res_url("user1", "dir%20with%20space/file%20name.txt")
    );
    assert_eq!(get("resource nothing.txt"), "null");
    assert_eq!(get("resource q/hash#x.txt"), res_url("user1", "q/hash%23x.txt"));
    assert_eq!(
        get("resource q/ünïcode.txt"),
        res_url("user1", "q/%c3%bcn%c3%afcode.txt")
    );
    assert_eq!(
        get("resources app.conf"),
        format!(
            "[{}, {}, {}]",
            res_url("user1", "app.conf"),
            res_url("user2", "app.conf"),
            res_url("parent", "app.conf")
        )
    );
    assert_eq!(get("stream app.conf"), "user1");
    assert_eq!(get("stream mr.txt"), "eleven");
    // After close, Flink's safety net.
    assert_eq!(
        get("closed class com.acme.Dup"),
        "java.lang.IllegalStateException: Trying to access closed classloader. ..."
    );
    assert_eq!(
        get("closed resource app.conf"),
        "java.lang.IllegalStateException: Trying to access closed classloader. ..."
    );
}

#[test]
fn additional_patterns_and_parent_first_order() {
    let f = fixture("cl-orders");
    let a = probe(&f, "tmrt", "child-first", &format!("{DEFAULTS};com.extra."), false, &[]);
    assert_eq!(a["call com.extra.Dup"], "parent");
    assert_eq!(a["call com.acme.Dup"], "user1");
    // Without the safety net a closed loader keeps what it defined and delegates to its parent.
    assert_eq!(
        a["closed class com.acme.Dup"],
        format!("user {} signers=none", jar_url("user1"))
    );
    assert_eq!(
        a["closed class com.acme.ParentOnly"],
        format!("parent {} signers=none", jar_url("parent"))
    );
    assert_eq!(a["closed resource app.conf"], res_url("parent", "app.conf"));
    assert_eq!(a["closed resource user-only.txt"], "null");

    assert_eq!(a["native-index"], "true");

    let p = probe(&f, "tmrt", "PARENT-FIRST", DEFAULTS, true, &[]);
    assert_eq!(p["native-index"], "true");
    assert_eq!(p["call com.acme.Dup"], "parent");
    assert_eq!(p["call com.extra.Dup"], "parent");
    assert_eq!(
        p["class com.acme.UserOnly"],
        format!("user {} signers=none", jar_url("user1"))
    );
    assert_eq!(p["resource app.conf"], res_url("parent", "app.conf"));
    assert_eq!(
        p["resources app.conf"],
        format!(
            "[{}, {}, {}]",
            res_url("parent", "app.conf"),
            res_url("user1", "app.conf"),
            res_url("user2", "app.conf")
        )
    );
}

#[test]
fn parent_first_answers_exactly_like_url_class_loader() {
    let f = fixture("cl-vs-jdk");
    let tmrt = probe(&f, "tmrt", "parent-first", "", false, &[]);
    let jdk = probe(&f, "jdk", "parent-first", "", false, &[]);
    assert_eq!(tmrt["native-index"], "true");
    assert!(tmrt.len() > 30, "{tmrt:#?}");
    for (k, v) in &jdk {
        assert_eq!(
            tmrt.get(k),
            Some(v),
            "{k}: tmrt answered {:?}, URLClassLoader {v:?}",
            tmrt.get(k)
        );
    }
}

#[test]
fn same_answers_as_flinks_own_classloaders() {
    let f = fixture("cl-vs-flink");
    for release in ["1.20.3", "1.13.6", "2.2.0"] {
        let Some(dist) = flink_dist(release) else { continue };
        for (order, patterns, check) in [
            ("child-first", DEFAULTS.to_string(), true),
            ("child-first", format!("{DEFAULTS};com.extra.;com.acme.D"), false),
            ("parent-first", DEFAULTS.to_string(), true),
            ("parent-first", String::new(), false),
        ] {
            let mut tmrt = probe(&f, "tmrt", order, &patterns, check, std::slice::from_ref(&dist));
            let mut flink = probe(&f, "flink", order, &patterns, check, std::slice::from_ref(&dist));
            if release == "1.13.6" {
                // Flink 1.13's loaders are not registered as parallel-capable (1.14 made them so);
                // tmrt's always are. Everything else must match.
                assert_eq!(tmrt.remove("parallel-capable").as_deref(), Some("true"));
                flink.remove("parallel-capable");
            }
            assert_eq!(tmrt.remove("native-index").as_deref(), Some("true"));
            assert_eq!(tmrt.len(), flink.len());
            assert!(tmrt.len() > 30);
            for (k, v) in &flink {
                assert_eq!(
                    tmrt.get(k),
                    Some(v),
                    "Flink {release}, {order} {patterns} check={check}: {k}"
                );
            }
        }
    }
}

/// A jar the native index refuses is left to the JDK's own lookup, so the loader answers as a
/// `URLClassLoader` does (which skips a jar it cannot open): no error, no class from it.
#[test]
fn an_unindexable_jar_is_left_to_the_jdk() {
    let dir = scratch_dir("cl-bad-jar");
    let bad = dir.join("bad.jar");
    std::fs::write(&bad, b"PK\x03\x04 definitely not a jar").unwrap();
    let src = format!(
        "public class Bad {{ public static void main(String[] a) throws Exception {{ java.net.URL[] u = {{ new java.io.File(\"{}\").toURI().toURL() }}; \
         java.net.URLClassLoader l = dev.tmrt.classload.UserCodeClassLoaders.childFirst(u, Bad.class.getClassLoader(), new String[0], false); \
         java.net.URLClassLoader j = new java.net.URLClassLoader(u, Bad.class.getClassLoader()); \
         System.out.println(l.getResource(\"x\") + \" \" + j.getResource(\"x\")); \
         try {{ l.loadClass(\"a.B\"); }} catch (ClassNotFoundException e) {{ System.out.println(e.getMessage()); }} \
         try {{ dev.tmrt.classload.UserCodeClassLoaders.create(\"sideways\", new java.net.URL[0], null, null, true); }} catch (IllegalArgumentException e) {{ System.out.println(e.getMessage()); }} }} }}",
        bad.display()
    );
    let classes = compile_java(&dir, &[("Bad.java", &src)], &[tmrt_jar()]);
    let lib = format!("-Dtmrt.library={}", libtmrt().display());
    let cp = join_classpath(&[tmrt_jar(), classes]);
    let out = run_java(&[&lib, "-cp", &cp, "Bad"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        vec!["null null", "a.B", "Unknown resolve order: sideways"],
        "{stdout}"
    );
}

/// The always-parent-first patterns tmrt derives from a configuration equal the ones Flink's own
/// `CoreOptions.getParentFirstLoaderPatterns` returns for it, for each Flink line present
/// (1.13.6, 1.20.3, 2.2.0) in a real JVM: defaults, additional patterns, the 1.13 string split
/// against the 1.20/2.2 list parsing (quoting, trimming, empty items), the deprecated key.
#[test]
fn parent_first_patterns_match_flinks_core_options() {
    use runtime::classload::ClassLoadingOptions;
    use runtime::config::{Configuration, FlinkVersion};

    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![],
        vec![("classloader.parent-first-patterns.additional", "com.acme.;org.foo")],
        vec![("classloader.parent-first-patterns.default", " a. ; 'b;c' ;;d")],
        vec![("classloader.parent-first-patterns.default", "\"q\"\"uote\";x.")],
        vec![("classloader.parent-first-patterns", "x.;y.")],
        vec![
            ("classloader.parent-first-patterns", "x."),
            ("classloader.parent-first-patterns.default", "z."),
            ("classloader.parent-first-patterns.additional", " w. "),
        ],
    ];
    let dir = scratch_dir("cl-core-options");
    let input = dir.join("cases.txt");
    let mut text = String::new();
    for case in &cases {
        for (k, v) in case {
            text.push_str(&format!("{k}\t{v}\n"));
        }
        text.push_str("--\n");
    }
    std::fs::write(&input, text).unwrap();
    let src = "import java.nio.file.*; import java.util.*; \
        import org.apache.flink.configuration.*; \
        public class Patterns { public static void main(String[] a) throws Exception { \
          Map<String, String> m = new HashMap<>(); \
          for (String line : Files.readAllLines(Paths.get(a[0]))) { \
            if (line.equals(\"--\")) { \
              System.out.println(\"patterns=\" + String.join(\"|\", CoreOptions.getParentFirstLoaderPatterns(Configuration.fromMap(m)))); \
              m = new HashMap<>(); continue; } \
            String[] kv = line.split(\"\\t\", 2); m.put(kv[0], kv[1]); } } }";
    let mut compared = 0;
    for (release, version) in [
        ("1.13.6", FlinkVersion::V1_13),
        ("1.20.3", FlinkVersion::V1_20),
        ("2.2.0", FlinkVersion::V2_2),
    ] {
        let Some(dist) = flink_dist(release) else { continue };
        let classes = compile_java(
            &dir.join(release),
            &[("Patterns.java", src)],
            std::slice::from_ref(&dist),
        );
        let cp = join_classpath(&[dist, classes]);
        let out = run_java(&["-cp", &cp, "Patterns", &input.display().to_string()]);
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{release}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let flink: Vec<&str> = stdout.lines().filter_map(|l| l.strip_prefix("patterns=")).collect();
        assert_eq!(flink.len(), cases.len(), "{release}: {stdout}");
        for (case, expected) in cases.iter().zip(flink) {
            let conf = Configuration::from_pairs(case.iter().copied());
            let ours = ClassLoadingOptions::from_config(&conf, version).unwrap();
            assert_eq!(
                ours.parent_first_patterns.join("|"),
                expected,
                "Flink {release}, configuration {case:?}"
            );
        }
        compared += 1;
    }
    if compared == 0 {
        eprintln!("SKIPPED: no Flink release under .flink/ to compare with");
    }
}

/// A class entry whose bytes fail their CRC check is a `ClassNotFoundException` whose cause names
/// the jar and the entry (as `URLClassLoader.findClass` wraps read failures), never an undeclared
/// exception or a crash.
#[test]
fn a_corrupt_class_entry_is_class_not_found_naming_the_jar() {
    let dir = scratch_dir("cl-corrupt");
    let classes = compile_java(
        &dir.join("victim"),
        &[(
            "Victim.java",
            "public class Victim { static final String S = \"some constant text\"; }",
        )],
        &[],
    );
    let jar = dir.join("corrupt.jar");
    let st = Command::new(jdk_tool("jar"))
        .args(["--create", "--no-compress", "--file"])
        .arg(&jar)
        .arg("-C")
        .arg(&classes)
        .arg("Victim.class")
        .status()
        .unwrap();
    assert!(st.success());
    let mut bytes = std::fs::read(&jar).unwrap();
    let needle = b"some constant text";
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("stored class bytes");
    bytes[at] = b'S';
    std::fs::write(&jar, &bytes).unwrap();
    let src = format!(
        "public class Load {{ public static void main(String[] a) throws Exception {{ \
           java.net.URLClassLoader l = dev.tmrt.classload.UserCodeClassLoaders.childFirst(new java.net.URL[] {{ new java.io.File(\"{}\").toURI().toURL() }}, Load.class.getClassLoader(), new String[0], true); \
           try {{ l.loadClass(\"Victim\"); System.out.println(\"loaded\"); }} \
           catch (ClassNotFoundException e) {{ System.out.println(\"CNFE \" + e.getMessage() + \" cause \" + e.getCause()); }} }} }}",
        jar.display()
    );
    let main = compile_java(&dir.join("main"), &[("Load.java", &src)], &[tmrt_jar()]);
    let lib = format!("-Dtmrt.library={}", libtmrt().display());
    let cp = join_classpath(&[tmrt_jar(), main]);
    let out = run_java(&[&lib, "-cp", &cp, "Load"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.starts_with("CNFE Victim cause java.io.IOException: tmrt: cannot read jar "),
        "{stdout}"
    );
    assert!(
        stdout.contains(&jar.display().to_string()) && stdout.contains("Victim.class"),
        "{stdout}"
    );
}
