//! What keeps a leaked loader alive, said so that a user knows what to change.
//!
//! The agent finds facts — a live thread tied to the loader in one of several ways, a path from
//! a static field of a class outside the job to an object of the job's classes — and hands them
//! here as [`Finding`]s; [`Finding::suspect`] turns each into the report's [`Suspect`]: its kind
//! and one line that names the thread or field, the chain of references, whose code it is (the
//! job's, Flink's `lib/`, the JDK's) and the change that lets the loader go. The recognised
//! registries are the ones Flink's documentation and users run into: threads and executors that
//! outlive the job, `java.util.Timer`s, `ThreadLocal`s on threads the job does not own, JDBC
//! drivers in `java.sql.DriverManager`, shutdown hooks, caches in classes of `lib/`, and threads
//! that inherited the job's context classloader or its `ProtectionDomain`.

use super::{Suspect, SuspectKind};

/// Whose code something is, by the loader that defined its class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The leaked loader (the job's own code).
    Job,
    /// The application class path: Flink's `lib/` in a TaskManager.
    Lib,
    /// The JDK (bootstrap or platform loader).
    Jdk,
    /// Some other loader.
    Other,
}

impl Origin {
    fn phrase(self) -> &'static str {
        match self {
            Origin::Job => "the job's code",
            Origin::Lib => "code from the class path (Flink's lib/)",
            Origin::Jdk => "the JDK's code",
            Origin::Other => "code of another loader",
        }
    }
}

/// A live thread, as the agent read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadFacts {
    pub name: String,
    /// The thread object's class.
    pub class: String,
    /// Who started it: the origin of its class, or of its task when its class is the JDK's.
    pub origin: Origin,
    /// Its top frame, `Class.method(File.java:LINE)`, when it has Java frames.
    pub top: Option<String>,
}

/// How a thread is tied to the loader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThreadTie {
    /// The loader defined the thread's class.
    ClassDefined,
    /// A frame of the loader's code is on the thread's stack.
    Running { frame: String },
    /// The loader is the thread's context classloader (`through_wrapper`: the context loader is
    /// a safety-net wrapper, not yet closed, that holds it).
    ContextClassLoader { through_wrapper: bool },
    /// The thread object reaches an object of the loader's classes: the rendered chain from the
    /// thread, and whether it goes through the thread's `ThreadLocal` maps.
    Reaches { chain: String, thread_locals: bool },
}

impl ThreadTie {
    /// The suspect kind this tie makes.
    pub fn kind(&self) -> SuspectKind {
        match self {
            ThreadTie::ContextClassLoader { .. } => SuspectKind::ContextClassLoader,
            ThreadTie::Reaches {
                thread_locals: true, ..
            } => SuspectKind::ThreadLocal,
            _ => SuspectKind::Thread,
        }
    }
}

/// One fact about a leaked loader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// A thread with one or more ties of the same suspect kind ([`ThreadTie::kind`]); use
    /// [`Finding::threads`] to group a thread's ties.
    Thread { thread: ThreadFacts, ties: Vec<ThreadTie> },
    /// A static field of a class outside the job reaches an object of the loader's classes.
    Static {
        /// The class declaring the field, and its origin.
        class: String,
        origin: Origin,
        field: String,
        /// The rendered chain from the field.
        chain: String,
    },
}

/// `start -> label: node -> ...`: a chain of references as one line.
pub fn render_chain<'a>(start: &str, steps: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = start.to_string();
    for (label, node) in steps {
        out.push_str(" -> ");
        out.push_str(label);
        out.push_str(": ");
        out.push_str(node);
    }
    out
}

impl Finding {
    /// One finding per suspect kind among a thread's ties (its class, stack and task are one
    /// suspect; its context classloader and its `ThreadLocal`s are others).
    pub fn threads(thread: &ThreadFacts, ties: Vec<ThreadTie>) -> Vec<Finding> {
        let mut out: Vec<Finding> = Vec::new();
        for tie in ties {
            let kind = tie.kind();
            match out
                .iter_mut()
                .find(|f| matches!(f, Finding::Thread { ties, .. } if ties[0].kind() == kind))
            {
                Some(Finding::Thread { ties, .. }) => ties.push(tie),
                _ => out.push(Finding::Thread {
                    thread: thread.clone(),
                    ties: vec![tie],
                }),
            }
        }
        out
    }

    /// The report's suspect for this finding.
    pub fn suspect(&self) -> Suspect {
        match self {
            Finding::Thread { thread, ties } => thread_suspect(thread, ties),
            Finding::Static {
                class,
                origin,
                field,
                chain,
            } => static_suspect(class, *origin, field, chain),
        }
    }
}

fn who(thread: &ThreadFacts) -> String {
    let mut s = format!(
        "thread \"{}\" ({}: {}",
        thread.name,
        thread.class,
        thread.origin.phrase()
    );
    if let Some(top) = &thread.top {
        s.push_str(", at ");
        s.push_str(top);
    }
    s.push(')');
    s
}

/// Whether a chain goes through the `ProtectionDomain`s a thread captured when it was created
/// (`Thread.inheritedAccessControlContext`): the thread was created while the job's code was on
/// the stack, whoever created it.
fn through_captured_domains(chain: &str) -> bool {
    chain.contains("field inheritedAccessControlContext")
}

/// What to do about a thread that holds the loader through `chain` (`None`: by its class or
/// stack).
fn thread_advice(thread: &ThreadFacts, chain: Option<&str>) -> String {
    let chain = chain.unwrap_or("");
    if through_captured_domains(chain) {
        return format!(
            "the thread was created while the job's code was on the stack and captured its ProtectionDomain; \
             it is {}, not the job's: start such threads outside job code (or before the first job)",
            thread.origin.phrase()
        );
    }
    if chain.contains("java.util.TaskQueue") || thread.class == "java.util.TimerThread" {
        return "cancel the java.util.Timer (Timer.cancel()) when the job ends, e.g. in close()".to_string();
    }
    if chain.contains("ThreadPoolExecutor") || chain.contains("ForkJoinPool") {
        return "shut the executor down (shutdownNow()) when the job ends, e.g. in close()".to_string();
    }
    if thread.origin == Origin::Job || chain.is_empty() {
        return "stop the thread when the job ends (interrupt and join it in close())".to_string();
    }
    format!(
        "the thread is {}: it must not keep job objects; stop it or clear what it holds when the job ends",
        thread.origin.phrase()
    )
}

fn thread_suspect(thread: &ThreadFacts, ties: &[ThreadTie]) -> Suspect {
    let who = who(thread);
    let Some(first) = ties.first() else {
        return Suspect {
            kind: SuspectKind::Thread,
            description: format!("{who} is tied to this loader"),
        };
    };
    match first {
        ThreadTie::ContextClassLoader { through_wrapper } => {
            let via = if *through_wrapper {
                " (through Flink's safety-net wrapper, not yet closed)"
            } else {
                ""
            };
            let advice = if thread.origin == Origin::Job {
                "stop the thread when the job ends".to_string()
            } else {
                format!(
                    "it inherited it when created during the job; it is {}, not the job's: reset its context \
                     classloader (Thread.setContextClassLoader) or create it outside job code",
                    thread.origin.phrase()
                )
            };
            Suspect {
                kind: SuspectKind::ContextClassLoader,
                description: format!(
                    "{who} has this loader as its context classloader{via}, which keeps every class of the job alive; {advice}"
                ),
            }
        }
        ThreadTie::Reaches {
            chain,
            thread_locals: true,
        } => Suspect {
            kind: SuspectKind::ThreadLocal,
            description: format!(
                "{who} keeps a ThreadLocal value of the job's classes: {chain}; call ThreadLocal.remove() \
                 before the job's code returns, or do not set ThreadLocals on threads the job does not own"
            ),
        },
        _ => {
            // Class, stack and task ties of one thread: one suspect, each tie said. The domains a
            // thread captured at creation matter only when nothing else ties it: a thread the job
            // created holds them too, and then the job's own tie is the one to fix.
            let own: Vec<&ThreadTie> = ties
                .iter()
                .filter(|t| !matches!(t, ThreadTie::Reaches { chain, .. } if through_captured_domains(chain)))
                .collect();
            let shown: Vec<&ThreadTie> = if own.is_empty() { ties.iter().collect() } else { own };
            let job_code = shown
                .iter()
                .any(|t| matches!(t, ThreadTie::ClassDefined | ThreadTie::Running { .. }));
            let facts = if job_code {
                ThreadFacts {
                    origin: Origin::Job,
                    ..thread.clone()
                }
            } else {
                thread.clone()
            };
            let mut said = Vec::new();
            let mut advice: Vec<String> = Vec::new();
            for tie in shown {
                let (text, chain) = match tie {
                    ThreadTie::ClassDefined => (
                        format!("thread class {} defined by this loader, still running", thread.class),
                        None,
                    ),
                    ThreadTie::Running { frame } => (format!("running this loader's code in frame {frame}"), None),
                    ThreadTie::Reaches { chain, .. } => (
                        format!("holds an object of the job's classes: {chain}"),
                        Some(chain.as_str()),
                    ),
                    ThreadTie::ContextClassLoader { .. } => continue,
                };
                said.push(text);
                let a = thread_advice(&facts, chain);
                if !advice.contains(&a) {
                    advice.push(a);
                }
            }
            Suspect {
                kind: SuspectKind::Thread,
                description: format!("{who}: {}; {}", said.join("; "), advice.join("; ")),
            }
        }
    }
}

fn static_suspect(class: &str, origin: Origin, field: &str, chain: &str) -> Suspect {
    let description = match (class, field) {
        ("java.sql.DriverManager", _) => format!(
            "a JDBC driver of the job is registered in java.sql.DriverManager: {chain}; deregister it \
             (DriverManager.deregisterDriver) when the job ends"
        ),
        ("java.lang.ApplicationShutdownHooks", _) => format!(
            "a shutdown hook of the job is registered with Runtime.addShutdownHook: {chain}; remove it \
             (Runtime.removeShutdownHook) when the job ends"
        ),
        _ => format!(
            "static field {class}.{field} ({}) holds an object of the job's classes: {chain}; remove the job's \
             entries when the job ends, or keep such caches inside the job jar",
            origin.phrase()
        ),
    };
    Suspect {
        kind: SuspectKind::StaticField,
        description,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread(name: &str, class: &str, origin: Origin) -> ThreadFacts {
        ThreadFacts {
            name: name.into(),
            class: class.into(),
            origin,
            top: Some("java.lang.Thread.sleep(Thread.java)".into()),
        }
    }

    #[test]
    fn thread_ties_name_the_thread_and_the_change() {
        let t = thread("lingering", "java.lang.Thread", Origin::Job);
        let chain = render_chain(
            "thread \"lingering\"",
            [("field target", "Job$$Lambda$14/0x0000000800c0b000")],
        );
        let s = Finding::Thread {
            thread: t.clone(),
            ties: vec![ThreadTie::Reaches {
                chain: chain.clone(),
                thread_locals: false,
            }],
        }
        .suspect();
        assert_eq!(s.kind, SuspectKind::Thread);
        assert!(
            s.description
                .starts_with("thread \"lingering\" (java.lang.Thread: the job's code, at java.lang.Thread.sleep"),
            "{}",
            s.description
        );
        assert!(s
            .description
            .contains("-> field target: Job$$Lambda$14/0x0000000800c0b000"));
        assert!(s.description.contains("stop the thread when the job ends"));

        let pool = Finding::Thread {
            thread: thread("pool-1-thread-1", "java.lang.Thread", Origin::Job),
            ties: vec![ThreadTie::Reaches {
                chain: "thread \"pool-1-thread-1\" -> field target: java.util.concurrent.ThreadPoolExecutor$Worker"
                    .into(),
                thread_locals: false,
            }],
        }
        .suspect();
        assert!(pool.description.contains("shutdownNow()"), "{}", pool.description);

        let timer = Finding::Thread {
            thread: thread("Timer-0", "java.util.TimerThread", Origin::Jdk),
            ties: vec![ThreadTie::Reaches {
                chain: "thread \"Timer-0\" -> field queue: java.util.TaskQueue".into(),
                thread_locals: false,
            }],
        }
        .suspect();
        assert!(timer.description.contains("Timer.cancel()"), "{}", timer.description);
    }

    #[test]
    fn thread_locals_context_loaders_and_flink_threads() {
        let tl = Finding::Thread {
            thread: thread(
                "ForkJoinPool.commonPool-worker-1",
                "java.util.concurrent.ForkJoinWorkerThread",
                Origin::Jdk,
            ),
            ties: vec![ThreadTie::Reaches {
                chain: "thread \"x\" -> field threadLocals: java.lang.ThreadLocal$ThreadLocalMap".into(),
                thread_locals: true,
            }],
        }
        .suspect();
        assert_eq!(tl.kind, SuspectKind::ThreadLocal);
        assert!(tl.description.contains("ThreadLocal.remove()"));

        let ctx = Finding::Thread {
            thread: thread("flink-scheduler", "java.lang.Thread", Origin::Lib),
            ties: vec![ThreadTie::ContextClassLoader { through_wrapper: false }],
        }
        .suspect();
        assert_eq!(ctx.kind, SuspectKind::ContextClassLoader);
        assert!(
            ctx.description
                .contains("code from the class path (Flink's lib/), not the job's"),
            "{}",
            ctx.description
        );

        let acc = Finding::Thread {
            thread: thread("flink-metrics", "java.lang.Thread", Origin::Lib),
            ties: vec![ThreadTie::Reaches {
                chain: "thread \"flink-metrics\" -> field inheritedAccessControlContext: java.security.AccessControlContext".into(),
                thread_locals: false,
            }],
        }
        .suspect();
        assert!(
            acc.description.contains("captured its ProtectionDomain"),
            "{}",
            acc.description
        );
        assert!(acc.description.contains("not the job's"));
    }

    #[test]
    fn a_threads_ties_group_by_kind() {
        let t = thread("lingering-worker", "Lingerer", Origin::Job);
        let findings = Finding::threads(
            &t,
            vec![
                ThreadTie::ClassDefined,
                ThreadTie::Running {
                    frame: "Lingerer.run(Lingerer.java:5)".into(),
                },
                ThreadTie::ContextClassLoader { through_wrapper: true },
            ],
        );
        assert_eq!(findings.len(), 2);
        let s = findings[0].suspect();
        assert_eq!(s.kind, SuspectKind::Thread);
        assert!(
            s.description.contains("thread class Lingerer defined by this loader"),
            "{}",
            s.description
        );
        assert!(
            s.description.contains("in frame Lingerer.run(Lingerer.java:5)"),
            "{}",
            s.description
        );
        let c = findings[1].suspect();
        assert_eq!(c.kind, SuspectKind::ContextClassLoader);
        assert!(c.description.contains("through Flink's safety-net wrapper"));
    }

    #[test]
    fn static_registries_have_their_own_advice() {
        let jdbc = Finding::Static {
            class: "java.sql.DriverManager".into(),
            origin: Origin::Jdk,
            field: "registeredDrivers".into(),
            chain: "x".into(),
        }
        .suspect();
        assert_eq!(jdbc.kind, SuspectKind::StaticField);
        assert!(jdbc.description.contains("DriverManager.deregisterDriver"));
        let hook = Finding::Static {
            class: "java.lang.ApplicationShutdownHooks".into(),
            origin: Origin::Jdk,
            field: "hooks".into(),
            chain: "x".into(),
        }
        .suspect();
        assert!(hook.description.contains("Runtime.removeShutdownHook"));
        let cache = Finding::Static {
            class: "org.apache.flink.Registry".into(),
            origin: Origin::Lib,
            field: "CACHE".into(),
            chain: "class org.apache.flink.Registry -> static field CACHE: java.util.HashMap".into(),
        }
        .suspect();
        assert!(cache
            .description
            .starts_with("static field org.apache.flink.Registry.CACHE (code from the class path (Flink's lib/))"));
    }
}
