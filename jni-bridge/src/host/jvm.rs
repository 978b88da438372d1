//! Creating the one JVM of this process through the JNI invocation API.
//!
//! `libjvm.so` is opened once and never closed (a JVM cannot be unloaded, and HotSpot does not
//! support creating a second one in a process), then `JNI_CreateJavaVM` runs with the options
//! given, plus, when [`JvmSpec::hooks`] asks for them, the invocation API's `exit` and `abort`
//! hooks (`super::guard`), which `jni`'s option builder cannot pass (their `extraInfo` is a
//! function). [`HostedJvm::start`] refuses a second start instead of letting the JVM fail.
//!
//! The JVM is never destroyed: `DestroyJavaVM` waits for every non-daemon thread, and a job that
//! leaks a thread would hang it. The process exits with the JVM still running, as a TaskManager
//! killed at the end of a session would.

use std::ffi::{c_void, CString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use jni::sys::{jint, JavaVMInitArgs, JavaVMOption, JNI_FALSE, JNI_OK, JNI_VERSION_1_8};
use jni::JavaVM;

/// What the JVM is started with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JvmSpec {
    /// `libjvm.so` to load.
    pub libjvm: PathBuf,
    /// Class path entries (`-Djava.class.path`), in order.
    pub class_path: Vec<PathBuf>,
    /// Every other option, passed as given (`-Xmx…`, `-agentpath:…`, `-D…`).
    pub options: Vec<String>,
    /// Pass the `exit` and `abort` hooks of `super::guard`.
    pub hooks: bool,
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
        let lib = keep_loaded(&spec.libjvm)?;
        let strings: Vec<CString> = spec
            .all_options()
            .into_iter()
            .map(|o| CString::new(o.clone()).map_err(|e| StartError::Option(format!("{o}: {e}"))))
            .collect::<Result<_, _>>()?;
        let hooks: Vec<(CString, *mut c_void)> = if spec.hooks {
            super::guard::hook_options()
                .iter()
                .map(|(name, f)| (CString::new(*name).expect("no NUL in a hook name"), *f))
                .collect()
        } else {
            Vec::new()
        };
        let mut options: Vec<JavaVMOption> = strings
            .iter()
            .map(|s| JavaVMOption {
                optionString: s.as_ptr().cast_mut(),
                extraInfo: std::ptr::null_mut(),
            })
            .chain(hooks.iter().map(|(name, f)| JavaVMOption {
                optionString: name.as_ptr().cast_mut(),
                extraInfo: *f,
            }))
            .collect();
        let mut args = JavaVMInitArgs {
            version: JNI_VERSION_1_8,
            nOptions: options.len() as jint,
            options: options.as_mut_ptr(),
            ignoreUnrecognized: JNI_FALSE,
        };
        type CreateJavaVm =
            unsafe extern "system" fn(*mut *mut jni::sys::JavaVM, *mut *mut c_void, *mut c_void) -> jint;
        let create_error = |message: String| StartError::Create {
            libjvm: spec.libjvm.clone(),
            message,
        };
        // SAFETY: JNI_CreateJavaVM has this signature in every JDK (jni.h); the library stays
        // loaded for the life of the process (keep_loaded leaks it).
        let create: libloading::Symbol<'_, CreateJavaVm> =
            unsafe { lib.get(b"JNI_CreateJavaVM\0") }.map_err(|e| create_error(format!("no JNI_CreateJavaVM: {e}")))?;
        let mut vm: *mut jni::sys::JavaVM = std::ptr::null_mut();
        let mut env: *mut c_void = std::ptr::null_mut();
        // SAFETY: `args` and every option string and hook it points to live until the call
        // returns (the JVM copies what it keeps); `vm` and `env` are valid out-pointers.
        let rc = unsafe { create(&mut vm, &mut env, (&mut args as *mut JavaVMInitArgs).cast()) };
        if rc != JNI_OK {
            return Err(create_error(format!("error code {rc}")));
        }
        // SAFETY: `vm` was just returned by a successful JNI_CreateJavaVM.
        let vm = unsafe { JavaVM::from_raw(vm) }.map_err(|e| create_error(e.to_string()))?;
        // SAFETY: the creating thread is attached by JNI_CreateJavaVM; detaching it through the
        // invocation interface is what jni's own JavaVM::new does. The interface table is valid
        // for the JVM's life.
        unsafe {
            let invoke = *vm.get_java_vm_pointer();
            if let Some(detach) = (*invoke).DetachCurrentThread {
                detach(vm.get_java_vm_pointer());
            }
        }
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
/// process.
fn keep_loaded(libjvm: &Path) -> Result<&'static libloading::Library, StartError> {
    // SAFETY: loading libjvm.so runs its initialisers, which only set up HotSpot's globals; no
    // JVM exists yet and nothing else in this process uses the library concurrently (STARTED
    // guarantees a single start).
    let lib = unsafe { libloading::Library::new(libjvm) }.map_err(|e| StartError::Load {
        libjvm: libjvm.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(Box::leak(Box::new(lib)))
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
            hooks: false,
        };
        assert_eq!(spec.all_options(), vec!["-Djava.class.path=/a.jar:/b.jar", "-Xmx1g"]);
    }
}
