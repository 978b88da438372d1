//! Creating the one JVM of this process through the JNI invocation API.
//!
//! `libjvm.so` is opened once and never closed (a JVM cannot be unloaded, and HotSpot does not
//! support creating a second one in a process), then `JNI_CreateJavaVM` runs with the options
//! given. [`HostedJvm::start`] refuses a second start instead of letting the JVM fail.
//!
//! The JVM is never destroyed: `DestroyJavaVM` waits for every non-daemon thread, and a job that
//! leaks a thread would hang it. The process exits with the JVM still running, as a TaskManager
//! killed at the end of a session would.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use jni::{InitArgsBuilder, JNIVersion, JavaVM};

/// What the JVM is started with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JvmSpec {
    /// `libjvm.so` to load.
    pub libjvm: PathBuf,
    /// Class path entries (`-Djava.class.path`), in order.
    pub class_path: Vec<PathBuf>,
    /// Every other option, passed as given (`-Xmx…`, `-agentpath:…`, `-D…`).
    pub options: Vec<String>,
}

impl JvmSpec {
    /// All options as `JNI_CreateJavaVM` receives them, the class path first.
    pub fn all_options(&self) -> Vec<String> {
        let cp: Vec<String> = self.class_path.iter().map(|p| p.display().to_string()).collect();
        let mut v = vec![format!("-Djava.class.path={}", cp.join(":"))];
        v.extend(self.options.iter().cloned());
        v
    }
}

/// Why the JVM could not be started.
#[derive(Debug)]
pub enum StartError {
    /// A JVM was already started in this process.
    AlreadyStarted,
    /// `libjvm.so` could not be opened.
    Load { libjvm: PathBuf, message: String },
    /// An option could not be passed (e.g. it holds a NUL byte).
    Option(String),
    /// `JNI_CreateJavaVM` failed.
    Create { libjvm: PathBuf, message: String },
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::AlreadyStarted => f.write_str("a JVM is already running in this process"),
            StartError::Load { libjvm, message } => write!(f, "cannot load {}: {message}", libjvm.display()),
            StartError::Option(m) => write!(f, "bad JVM option: {m}"),
            StartError::Create { libjvm, message } => {
                write!(f, "JNI_CreateJavaVM failed ({}): {message}", libjvm.display())
            }
        }
    }
}

impl std::error::Error for StartError {}

static STARTED: AtomicBool = AtomicBool::new(false);

/// The process's JVM.
pub struct HostedJvm {
    vm: JavaVM,
    spec: JvmSpec,
}

impl HostedJvm {
    /// Loads `libjvm.so` and creates the JVM. The calling thread is not left attached.
    pub fn start(spec: JvmSpec) -> Result<HostedJvm, StartError> {
        if STARTED.swap(true, Ordering::SeqCst) {
            return Err(StartError::AlreadyStarted);
        }
        keep_loaded(&spec.libjvm)?;
        let options = spec.all_options();
        let mut builder = InitArgsBuilder::new()
            .version(JNIVersion::V8)
            .ignore_unrecognized(false);
        for o in &options {
            builder
                .try_option(o.as_str())
                .map_err(|e| StartError::Option(format!("{o}: {e}")))?;
        }
        let args = builder.build().map_err(|e| StartError::Option(e.to_string()))?;
        let libjvm = spec.libjvm.clone();
        let vm = JavaVM::with_libjvm(args, || Ok(libjvm.as_os_str())).map_err(|e| StartError::Create {
            libjvm: spec.libjvm.clone(),
            message: e.to_string(),
        })?;
        Ok(HostedJvm { vm, spec })
    }

    /// The JNI invocation interface.
    pub fn vm(&self) -> &JavaVM {
        &self.vm
    }

    /// What the JVM was started with.
    pub fn spec(&self) -> &JvmSpec {
        &self.spec
    }
}

/// Opens `libjvm.so` and leaks the handle, so the library stays mapped for the life of the
/// process whatever the invocation wrapper does with its own handle.
fn keep_loaded(libjvm: &Path) -> Result<(), StartError> {
    // SAFETY: loading libjvm.so runs its initialisers, which only set up HotSpot's globals; no
    // JVM exists yet and nothing else in this process uses the library concurrently (STARTED
    // guarantees a single start).
    let lib = unsafe { libloading::Library::new(libjvm) }.map_err(|e| StartError::Load {
        libjvm: libjvm.to_path_buf(),
        message: e.to_string(),
    })?;
    std::mem::forget(lib);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_path_comes_first_joined_with_colons() {
        let spec = JvmSpec {
            libjvm: PathBuf::from("/j/lib/server/libjvm.so"),
            class_path: vec![PathBuf::from("/a.jar"), PathBuf::from("/b.jar")],
            options: vec!["-Xmx1g".into()],
        };
        assert_eq!(spec.all_options(), vec!["-Djava.class.path=/a.jar:/b.jar", "-Xmx1g"]);
    }
}
