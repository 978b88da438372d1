//! Which Flink job a user-code classloader belongs to, read off its class path.
//!
//! A TaskManager builds each job's loader from the job's jars in its blob cache, whose files Flink
//! names `<storage dir>/job_<job id>/blob_p-<key>-<random>` (`BlobUtils.getStorageLocation`), so
//! the loader's URLs carry the 32-hex job id. A loader with no such URL (a plain
//! `URLClassLoader`, tmrt's emulator loaders) belongs to no job.

/// The job id (32 lowercase hex digits) of the first URL that lies in a blob cache's job
/// directory, if any.
pub fn job_id<'a>(urls: impl IntoIterator<Item = &'a str>) -> Option<String> {
    urls.into_iter().find_map(job_id_of)
}

fn job_id_of(url: &str) -> Option<String> {
    let mut rest = url;
    while let Some(at) = rest.find("job_") {
        let candidate = &rest[at + 4..];
        let id = candidate.get(..32);
        let after = candidate.get(32..);
        if let (Some(id), Some(after)) = (id, after) {
            if id.bytes().all(|b| b.is_ascii_hexdigit()) && after.starts_with("/blob_p-") {
                return Some(id.to_ascii_lowercase());
            }
        }
        rest = &rest[at + 4..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_the_job_directory_of_a_blob_cache_url() {
        let url = "file:/tmp/blobStore-6c1e0a7e-6b1d-4f8e/job_9f86d081884c7d659a2feaa0c55ad015/blob_p-6d2b3c-0a1b2c3d";
        assert_eq!(job_id([url]).as_deref(), Some("9f86d081884c7d659a2feaa0c55ad015"));
        // The first job URL wins; non-blob URLs are skipped.
        let urls = ["file:/opt/flink/usrlib/extra.jar", url];
        assert_eq!(job_id(urls).as_deref(), Some("9f86d081884c7d659a2feaa0c55ad015"));
    }

    #[test]
    fn no_job_without_a_blob_file_in_a_job_directory() {
        for url in [
            "file:/tmp/job.jar",
            "file:/tmp/job_9f86d081884c7d659a2feaa0c55ad015/other.jar",
            "file:/tmp/job_9f86d081884c7d659a2feaa0c55ad01/blob_p-1",
            "file:/tmp/job_zz86d081884c7d659a2feaa0c55ad015/blob_p-1",
            "job_",
        ] {
            assert_eq!(job_id([url]), None, "{url}");
        }
        assert_eq!(job_id(std::iter::empty()), None);
    }

    #[test]
    fn upper_case_hex_is_normalised() {
        let url = "file:/b/job_9F86D081884C7D659A2FEAA0C55AD015/blob_p-1-2";
        assert_eq!(job_id([url]).as_deref(), Some("9f86d081884c7d659a2feaa0c55ad015"));
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            let _ = job_id([s.as_str()]);
        }
    }
}
