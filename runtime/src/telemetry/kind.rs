//! What kind of classloader a loader is, from its class name, whether it is a
//! `java.net.URLClassLoader`, and its parent's kind.
//!
//! The kind decides three things: whether the agent watches the loader for its release (every
//! `URLClassLoader` is released by `close()`), whether it is *user code* (a loader whose life is
//! one job's: Flink's child-first and parent-first loaders, tmrt's own, and any other
//! `URLClassLoader` below the application loader), and how the metrics show it (a series per
//! user-code loader; JDK-internal loaders such as reflection's `DelegatingClassLoader` summed by
//! class). Flink's loader classes are named per release: `FlinkUserCodeClassLoaders` moved from
//! `org.apache.flink.runtime.execution.librarycache` (1.13) to `org.apache.flink.util` (1.15+),
//! while `ChildFirstClassLoader` stayed in `org.apache.flink.util`.

use serde::{Deserialize, Serialize};

/// A loader's kind (the report's `"kind"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, PartialOrd, Ord)]
pub enum LoaderKind {
    /// The bootstrap loader.
    #[serde(rename = "bootstrap")]
    Bootstrap,
    /// `jdk.internal.loader.ClassLoaders$PlatformClassLoader`.
    #[serde(rename = "platform")]
    Platform,
    /// `jdk.internal.loader.ClassLoaders$AppClassLoader`: the class path (Flink's `lib/`).
    #[serde(rename = "application")]
    Application,
    /// Flink's user-code loaders (child-first, parent-first; the safety-net wrapper).
    #[serde(rename = "flink")]
    Flink,
    /// tmrt's own user-code loaders (`dev.tmrt.classload`).
    #[serde(rename = "tmrt")]
    Tmrt,
    /// Any other `java.net.URLClassLoader`.
    #[serde(rename = "url")]
    Url,
    /// Loaders the JDK makes for itself (reflection accessors and the like).
    #[serde(rename = "jdk-internal")]
    JdkInternal,
    /// Everything else (code generators' loaders, Flink's plugin and component loaders, ...).
    #[serde(rename = "other")]
    #[default]
    Other,
}

impl LoaderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LoaderKind::Bootstrap => "bootstrap",
            LoaderKind::Platform => "platform",
            LoaderKind::Application => "application",
            LoaderKind::Flink => "flink",
            LoaderKind::Tmrt => "tmrt",
            LoaderKind::Url => "url",
            LoaderKind::JdkInternal => "jdk-internal",
            LoaderKind::Other => "other",
        }
    }

    /// The JVM's own loaders: one each per JVM, alive for its life.
    pub fn is_builtin(self) -> bool {
        matches!(
            self,
            LoaderKind::Bootstrap | LoaderKind::Platform | LoaderKind::Application
        )
    }
}

/// Flink's user-code loader classes that define classes, in every supported release.
pub const FLINK_USER_CODE_LOADERS: &[&str] = &[
    "org.apache.flink.util.ChildFirstClassLoader",
    "org.apache.flink.util.FlinkUserCodeClassLoaders$ParentFirstClassLoader",
    "org.apache.flink.runtime.execution.librarycache.FlinkUserCodeClassLoaders$ParentFirstClassLoader",
];

/// Loaders that wrap a user-code loader and let go of it on `close()`, with the name of the
/// field that holds the wrapped loader: Flink's safety net (per release) and tmrt's.
pub const WRAPPERS: &[(&str, &str)] = &[
    (
        "org.apache.flink.util.FlinkUserCodeClassLoaders$SafetyNetWrapperClassLoader",
        "inner",
    ),
    (
        "org.apache.flink.runtime.execution.librarycache.FlinkUserCodeClassLoaders$SafetyNetWrapperClassLoader",
        "inner",
    ),
    ("dev.tmrt.classload.SafetyNetUserCodeClassLoader", "inner"),
];

/// The field through which a wrapper loader of class `class` holds the loader it wraps.
pub fn wrapper_field(class: &str) -> Option<&'static str> {
    WRAPPERS.iter().find(|(c, _)| *c == class).map(|(_, f)| *f)
}

/// The kind of a loader of class `class` (binary name); `is_url`: it is a
/// `java.net.URLClassLoader`.
pub fn classify(class: &str, is_url: bool) -> LoaderKind {
    match class {
        "<bootstrap>" => return LoaderKind::Bootstrap,
        "jdk.internal.loader.ClassLoaders$PlatformClassLoader" => return LoaderKind::Platform,
        "jdk.internal.loader.ClassLoaders$AppClassLoader" => return LoaderKind::Application,
        _ => {}
    }
    if FLINK_USER_CODE_LOADERS.contains(&class)
        || wrapper_field(class).is_some_and(|_| class.starts_with("org.apache.flink."))
    {
        return LoaderKind::Flink;
    }
    if class.starts_with("dev.tmrt.classload.") {
        return LoaderKind::Tmrt;
    }
    if ["jdk.", "sun.", "com.sun.", "java.", "javax."]
        .iter()
        .any(|p| class.starts_with(p))
        && class != "java.net.URLClassLoader"
    {
        return LoaderKind::JdkInternal;
    }
    if is_url && !class.starts_with("org.apache.flink.") {
        return LoaderKind::Url;
    }
    LoaderKind::Other
}

/// Whether a loader is user code: one job's (or one plugin use's) loader, expected to be released
/// and collected while the JVM lives on. Flink's and tmrt's loaders always are; another
/// `URLClassLoader` is when the application loader is among its ancestors (`below_application`).
pub fn is_user_code(kind: LoaderKind, below_application: bool) -> bool {
    match kind {
        LoaderKind::Flink | LoaderKind::Tmrt => true,
        LoaderKind::Url => below_application,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flink_loaders_of_every_release() {
        for c in FLINK_USER_CODE_LOADERS {
            assert_eq!(classify(c, true), LoaderKind::Flink, "{c}");
            assert!(is_user_code(classify(c, true), false));
        }
        assert_eq!(
            classify(
                "org.apache.flink.util.FlinkUserCodeClassLoaders$SafetyNetWrapperClassLoader",
                true
            ),
            LoaderKind::Flink
        );
        assert_eq!(
            wrapper_field(
                "org.apache.flink.runtime.execution.librarycache.FlinkUserCodeClassLoaders$SafetyNetWrapperClassLoader"
            ),
            Some("inner")
        );
        // Flink's long-lived loaders are not user code.
        for c in [
            "org.apache.flink.core.plugin.PluginLoader$PluginClassLoader",
            "org.apache.flink.core.classloading.ComponentClassLoader",
        ] {
            assert_eq!(classify(c, true), LoaderKind::Other, "{c}");
            assert!(!is_user_code(classify(c, true), true));
        }
    }

    #[test]
    fn jdk_and_builtin_loaders() {
        assert_eq!(classify("<bootstrap>", false), LoaderKind::Bootstrap);
        assert_eq!(
            classify("jdk.internal.loader.ClassLoaders$AppClassLoader", false),
            LoaderKind::Application
        );
        assert!(LoaderKind::Application.is_builtin());
        assert_eq!(
            classify("jdk.internal.reflect.DelegatingClassLoader", false),
            LoaderKind::JdkInternal
        );
        assert!(!is_user_code(LoaderKind::JdkInternal, true));
    }

    #[test]
    fn url_loaders_are_user_code_below_the_application_loader() {
        assert_eq!(classify("java.net.URLClassLoader", true), LoaderKind::Url);
        assert_eq!(classify("com.example.PluginLoader", true), LoaderKind::Url);
        assert!(is_user_code(LoaderKind::Url, true));
        assert!(!is_user_code(LoaderKind::Url, false));
        assert_eq!(
            classify("org.codehaus.janino.ByteArrayClassLoader", false),
            LoaderKind::Other
        );
        assert_eq!(
            classify("dev.tmrt.classload.ChildFirstUserCodeClassLoader", true),
            LoaderKind::Tmrt
        );
    }

    #[test]
    fn kinds_serialize_as_documented() {
        for k in [
            LoaderKind::Bootstrap,
            LoaderKind::Platform,
            LoaderKind::Application,
            LoaderKind::Flink,
            LoaderKind::Tmrt,
            LoaderKind::Url,
            LoaderKind::JdkInternal,
            LoaderKind::Other,
        ] {
            assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{}\"", k.as_str()));
        }
    }
}
