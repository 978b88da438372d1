//! The Java text behaviour the memory model reproduces, checked against a real JVM and Flink's own
//! `MemorySize`: `MemorySize.parse` (value or exact error), `toString`, `toHumanReadableString`,
//! `Float.parseFloat` widened and printed by `Double.toString` (which is what `MemorySize.multiply`
//! multiplies by), the inverse fraction `f / (1 - f)`, and `MemorySize.multiply` itself.
//! Thousands of generated inputs go through one JVM; every answer must match tmrt's.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use runtime::memory::{double_to_string, multiply, parse_float, MemorySize};
use support::*;

const PROBE: &str = r#"
import java.io.*;
import org.apache.flink.configuration.MemorySize;
public class Probe {
  public static void main(String[] a) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, "UTF-8"));
    PrintStream out = new PrintStream(new BufferedOutputStream(System.out), false, "UTF-8");
    String line;
    while ((line = in.readLine()) != null) {
      int tab = line.indexOf('\t');
      String kind = line.substring(0, tab), arg = line.substring(tab + 1);
      try {
        switch (kind) {
          case "size": {
            MemorySize m = MemorySize.parse(arg);
            out.println(m.getBytes() + "|" + m + "|" + m.toHumanReadableString());
            break;
          }
          case "float": {
            double f = Float.parseFloat(arg);
            out.println(Double.toString(f) + "|" + Double.toString(f / (1 - f)));
            break;
          }
          case "mul": {
            int bar = arg.indexOf('|');
            long bytes = Long.parseLong(arg.substring(0, bar));
            double f = Float.parseFloat(arg.substring(bar + 1));
            out.println(new MemorySize(bytes).multiply(f).getBytes() + "|" + new MemorySize(bytes).multiply(f / (1 - f)).getBytes());
            break;
          }
          default: out.println("?");
        }
      } catch (Exception e) {
        out.println("ERR " + e.getClass().getName() + ": " + e.getMessage());
      }
    }
    out.flush();
  }
}
"#;

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

fn size_inputs(rng: &mut Rng) -> Vec<String> {
    let units = [
        "",
        "b",
        "bytes",
        "k",
        "KB",
        "kibibytes",
        "m",
        "mb",
        "MeBiBytes",
        "g",
        "gb",
        "t",
        "TB",
        "x",
        "1",
        ".5g",
        "g b",
        "parsecs",
    ];
    let spaces = ["", " ", "  ", "\t"];
    let mut v: Vec<String> = vec![
        "".into(),
        " ".into(),
        "-1m".into(),
        "99999999999999999999".into(),
        "9223372036854775807".into(),
        "8388608t".into(),
        "8388607t".into(),
    ];
    for _ in 0..4000 {
        let n = match rng.next() % 4 {
            0 => rng.next() % 2048,
            1 => rng.next() % (1 << 40),
            2 => rng.next() >> (rng.next() % 64),
            _ => 1 << (rng.next() % 63),
        };
        v.push(format!(
            "{}{n}{}{}{}",
            rng.pick(&spaces),
            rng.pick(&spaces),
            rng.pick(&units),
            rng.pick(&spaces)
        ));
    }
    v
}

fn float_inputs(rng: &mut Rng) -> Vec<String> {
    let mut v: Vec<String> = (0..1000).map(|i| format!("0.{i:03}")).collect();
    v.extend((0..10000).step_by(7).map(|i| format!("0.{i:04}")));
    for _ in 0..2000 {
        let f = (rng.next() % 1_000_000) as f64 / 1_000_000.0;
        v.push(format!("{f}"));
    }
    v.extend(["1e-5", "0.99999994", "5e-1f", "0.5d", "abc", "", "1.2.3", "0x1p-3"].map(String::from));
    v
}

fn rust_size(s: &str) -> String {
    match MemorySize::parse(s) {
        Ok(m) => format!("{}|{m}|{}", m.bytes(), m.to_human_readable()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn java_text_behaviour_matches_the_jvm_and_flink() {
    let Some(dist) = flink_dist("1.20.3") else {
        println!("SKIPPED: needs Flink 1.20.3's flink-dist jar (scripts/fetch-flink.sh 1.20.3)");
        return;
    };
    let dir = scratch_dir("memory-java-text");
    let classes = compile_java(&dir, &[("Probe.java", PROBE)], std::slice::from_ref(&dist));
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let sizes = size_inputs(&mut rng);
    let floats = float_inputs(&mut rng);
    let muls: Vec<String> = (0..6000)
        .map(|i| {
            // Half MiB-aligned (where a product is often an exact integer, so the decimal
            // Java multiplies by decides the last byte), half arbitrary.
            let bytes = if i % 2 == 0 {
                (rng.next() % 200_000) << 20
            } else {
                rng.next() >> (rng.next() % 40 + 1)
            };
            format!("{bytes}|{}", floats[i % floats.len()])
        })
        .collect();
    let mut input = String::new();
    for s in &sizes {
        input.push_str(&format!("size\t{s}\n"));
    }
    for f in &floats {
        input.push_str(&format!("float\t{f}\n"));
    }
    for m in &muls {
        input.push_str(&format!("mul\t{m}\n"));
    }
    let mut child = Command::new(jdk_tool("java"))
        .arg("-cp")
        .arg(join_classpath(&[classes, dist]))
        .arg("Probe")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run java");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let java = String::from_utf8(out.stdout).unwrap();
    let mut lines = java.lines();
    let mut mismatches = Vec::new();
    for s in &sizes {
        let j = lines.next().unwrap();
        let j = j
            .strip_prefix("ERR ")
            .map(|e| e.split_once(": ").map(|(_, m)| m).unwrap_or(e))
            .unwrap_or(j);
        if j != rust_size(s) {
            mismatches.push(format!("size {s:?}: java {j} tmrt {}", rust_size(s)));
        }
    }
    for f in &floats {
        let j = lines.next().unwrap();
        let ours = match parse_float(f) {
            Ok(x) => {
                let d = f64::from(x);
                format!("{}|{}", double_to_string(d), double_to_string(d / (1.0 - d)))
            }
            Err(e) => e,
        };
        let j = j.strip_prefix("ERR java.lang.NumberFormatException: ").unwrap_or(j);
        if j != ours {
            mismatches.push(format!("float {f:?}: java {j} tmrt {ours}"));
        }
    }
    for m in &muls {
        let j = lines.next().unwrap();
        let (bytes, f) = m.split_once('|').unwrap();
        let size = MemorySize::new(bytes.parse().unwrap());
        let ours = match parse_float(f) {
            Ok(x) => {
                let d = f64::from(x);
                let a = multiply(size, d)
                    .map(|s| s.bytes().to_string())
                    .unwrap_or_else(|e| e.to_string());
                let b = multiply(size, d / (1.0 - d))
                    .map(|s| s.bytes().to_string())
                    .unwrap_or_else(|e| e.to_string());
                format!("{a}|{b}")
            }
            Err(e) => e,
        };
        if j.starts_with("ERR") {
            continue; // a parse error already compared above
        }
        if j != ours {
            mismatches.push(format!("multiply {m}: java {j} tmrt {ours}"));
        }
    }
    println!(
        "{} MemorySize texts, {} fractions, {} products compared with the JVM; {} mismatches",
        sizes.len(),
        floats.len(),
        muls.len(),
        mismatches.len()
    );
    for m in mismatches.iter().take(20) {
        println!("MISMATCH {m}");
    }
    assert!(mismatches.is_empty());
}
