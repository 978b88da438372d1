//! The JDK classes and fields the agent reads with JNI, looked up once when the JVM is live.
//!
//! Reading a field with JNI runs no Java code, so it is allowed in a `ClassLoad` callback and
//! cannot be intercepted by a user class. The fields below are JDK internals that have kept their
//! names from JDK 9 to 21 (`URLClassLoader.ucp`, `URLClassPath.closed` and `.path`); when one is
//! missing, the feature that needs it is off and the report's `limits` says so — the agent never
//! guesses.

use jni::objects::{GlobalRef, JClass, JFieldID, JObject};
use jni::signature::ReturnType;
use jni::sys::jfieldID;
use jni::JNIEnv;

/// Global references and field ids; see the module documentation.
pub struct JdkClasses {
    pub class_loader: GlobalRef,
    pub url_class_loader: GlobalRef,
    pub thread: GlobalRef,
    pub reference: GlobalRef,
    /// `ClassLoader.name`, `ClassLoader.parent`.
    loader_name: usize,
    loader_parent: usize,
    /// `URLClassLoader.ucp`, `URLClassPath.closed`, `URLClassPath.path` (None: not in this JDK).
    ucp: Option<usize>,
    ucp_closed: Option<usize>,
    ucp_path: Option<usize>,
}

// SAFETY: global references and field ids are valid on every thread for the JVM's life (the
// classes are the bootstrap loader's and never unloaded).
unsafe impl Send for JdkClasses {}
// SAFETY: as above; nothing is mutated after construction.
unsafe impl Sync for JdkClasses {}

fn field(env: &mut JNIEnv<'_>, class: &str, name: &str, sig: &str) -> Option<usize> {
    match env.get_field_id(class, name, sig) {
        Ok(id) => Some(id.into_raw() as usize),
        Err(_) => {
            let _ = env.exception_clear();
            None
        }
    }
}

fn global(env: &mut JNIEnv<'_>, class: &str) -> Option<GlobalRef> {
    let c = env.find_class(class).ok()?;
    env.new_global_ref(c).ok()
}

fn id(raw: usize) -> JFieldID {
    // SAFETY: a field id obtained by `field` from a bootstrap class, valid forever.
    unsafe { JFieldID::from_raw(raw as jfieldID) }
}

impl JdkClasses {
    /// Looks everything up; `None` (and the reason) when the JVM lacks a class the agent cannot
    /// work without.
    pub fn load(env: &mut JNIEnv<'_>) -> Result<JdkClasses, String> {
        let classes = (|| {
            Some((
                global(env, "java/lang/ClassLoader")?,
                global(env, "java/net/URLClassLoader")?,
                global(env, "java/lang/Thread")?,
                global(env, "java/lang/ref/Reference")?,
            ))
        })();
        let Some((class_loader, url_class_loader, thread, reference)) = classes else {
            let _ = env.exception_clear();
            return Err("cannot find java.lang.ClassLoader, java.net.URLClassLoader, java.lang.Thread or java.lang.ref.Reference".into());
        };
        let loader_name = field(env, "java/lang/ClassLoader", "name", "Ljava/lang/String;");
        let loader_parent = field(env, "java/lang/ClassLoader", "parent", "Ljava/lang/ClassLoader;");
        let (Some(loader_name), Some(loader_parent)) = (loader_name, loader_parent) else {
            return Err("java.lang.ClassLoader has no name/parent fields".into());
        };
        let ucp = field(
            env,
            "java/net/URLClassLoader",
            "ucp",
            "Ljdk/internal/loader/URLClassPath;",
        );
        let ucp_closed = field(env, "jdk/internal/loader/URLClassPath", "closed", "Z");
        let ucp_path = field(env, "jdk/internal/loader/URLClassPath", "path", "Ljava/util/ArrayList;");
        Ok(JdkClasses {
            class_loader,
            url_class_loader,
            thread,
            reference,
            loader_name,
            loader_parent,
            ucp,
            ucp_closed,
            ucp_path,
        })
    }

    /// Whether the release of a `URLClassLoader` (its `close()`) can be seen in this JDK.
    pub fn can_see_release(&self) -> bool {
        self.ucp.is_some() && self.ucp_closed.is_some()
    }

    fn object_field<'l>(&self, env: &mut JNIEnv<'l>, obj: &JObject<'_>, field: usize) -> Option<JObject<'l>> {
        let v = env
            .get_field_unchecked(obj, id(field), ReturnType::Object)
            .and_then(|v| v.l());
        match v {
            Ok(o) if !o.is_null() => Some(o),
            Ok(_) => None,
            Err(_) => {
                let _ = env.exception_clear();
                None
            }
        }
    }

    /// `loader.name` (a `ClassLoader`).
    pub fn loader_name(&self, env: &mut JNIEnv<'_>, loader: &JObject<'_>) -> Option<String> {
        let n = self.object_field(env, loader, self.loader_name)?;
        let s = env.get_string(&n.into()).ok().map(String::from);
        if s.is_none() {
            let _ = env.exception_clear();
        }
        s
    }

    /// `loader.parent` (a `ClassLoader`; `None` for the bootstrap loader).
    pub fn loader_parent<'l>(&self, env: &mut JNIEnv<'l>, loader: &JObject<'_>) -> Option<JObject<'l>> {
        self.object_field(env, loader, self.loader_parent)
    }

    pub fn is_url_loader(&self, env: &mut JNIEnv<'_>, loader: &JObject<'_>) -> bool {
        env.is_instance_of(loader, <&JClass>::from(self.url_class_loader.as_obj()))
            .unwrap_or(false)
    }

    /// Whether a `URLClassLoader` was closed (`ucp.closed`); `None` when it cannot be told.
    pub fn is_closed(&self, env: &mut JNIEnv<'_>, loader: &JObject<'_>) -> Option<bool> {
        let ucp = self.object_field(env, loader, self.ucp?)?;
        let closed = env
            .get_field_unchecked(
                &ucp,
                id(self.ucp_closed?),
                ReturnType::Primitive(jni::signature::Primitive::Boolean),
            )
            .and_then(|v| v.z());
        let _ = env.delete_local_ref(ucp);
        match closed {
            Ok(c) => Some(c),
            Err(_) => {
                let _ = env.exception_clear();
                None
            }
        }
    }

    /// A `URLClassLoader`'s class path as given to it (`ucp.path`), each URL as `toString()`.
    /// Runs JDK code (`ArrayList.toArray`, `URL.toString`): only on a thread that may call Java.
    pub fn urls(&self, env: &mut JNIEnv<'_>, loader: &JObject<'_>) -> Vec<String> {
        let result = env.with_local_frame(16, |env| -> jni::errors::Result<Vec<String>> {
            let Some(ucp) = self.ucp.and_then(|f| self.object_field(env, loader, f)) else {
                return Ok(Vec::new());
            };
            let Some(path) = self.ucp_path.and_then(|f| self.object_field(env, &ucp, f)) else {
                return Ok(Vec::new());
            };
            let array = env.call_method(&path, "toArray", "()[Ljava/lang/Object;", &[])?.l()?;
            let array = jni::objects::JObjectArray::from(array);
            let n = env.get_array_length(&array)?;
            let mut out = Vec::with_capacity(n.max(0) as usize);
            for i in 0..n.min(1024) {
                let url = env.get_object_array_element(&array, i)?;
                if url.is_null() {
                    continue;
                }
                let s = env.call_method(&url, "toString", "()Ljava/lang/String;", &[])?.l()?;
                out.push(env.get_string(&s.into())?.into());
            }
            Ok(out)
        });
        result.unwrap_or_else(|_| {
            let _ = env.exception_clear();
            Vec::new()
        })
    }
}
