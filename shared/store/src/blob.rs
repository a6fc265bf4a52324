//! The blob-store port (S3 semantics: whole objects under keys, ranged reads, streamed writes,
//! and presigned URLs a client uses without a key of ours). The import and export jobs keep
//! their files here: the upload, the error report, the export. The S3 adapter is in `iron-aws`;
//! the embedded one ([`FileBlobs`], feature `embedded`) keeps files in a directory of the data
//! dir and signs its own expiring URLs, which iron-local serves at `/files/…`.
//!
//! Keys are made by [`crate::keys::blob_key`] from a tenant scope, so a business's files sit
//! under its own prefix by construction.

use crate::table::{StoreError, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// Below this, a streamed write is one put; above it, a multipart upload of parts this large
/// (S3's smallest part is 5 MiB).
pub const PART_BYTES: usize = 8 * 1024 * 1024;

/// What a client needs to use a presigned URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presigned {
    pub url: String,
    pub method: &'static str,
    /// Headers the request must carry as they are (signed).
    pub headers: Vec<(String, String)>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    pub size: u64,
}

#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Stores `body` at `key`, replacing what was there.
    async fn put(&self, key: &str, body: Vec<u8>, content_type: &str) -> StoreResult<()>;
    /// Up to `max` bytes of the blob from byte `offset` (fewer at its end; none past it);
    /// `None` when there is no blob.
    async fn read(&self, key: &str, offset: u64, max: usize) -> StoreResult<Option<Vec<u8>>>;
    async fn info(&self, key: &str) -> StoreResult<Option<BlobInfo>>;
    /// Removes the blob (nothing there is fine).
    async fn delete(&self, key: &str) -> StoreResult<()>;
    /// A streamed write: nothing is visible at `key` until `finish`.
    async fn writer(&self, key: &str, content_type: &str) -> StoreResult<Box<dyn BlobWriter>>;
    /// A URL that GETs the blob until `expires_at`, answered as an attachment named `filename`.
    async fn download_url(&self, key: &str, filename: &str, expires_at: DateTime<Utc>) -> StoreResult<Presigned>;
    /// A URL that PUTs the blob until `expires_at`, with the content type given.
    async fn upload_url(&self, key: &str, content_type: &str, expires_at: DateTime<Utc>) -> StoreResult<Presigned>;
}

#[async_trait]
pub trait BlobWriter: Send {
    async fn write(&mut self, bytes: &[u8]) -> StoreResult<()>;
    /// Makes the blob visible; returns its size.
    async fn finish(self: Box<Self>) -> StoreResult<u64>;
}

/// Refuses keys that could leave a prefix or a directory (`..`, empty segments, odd bytes).
pub fn check_key(key: &str) -> StoreResult<()> {
    let ok = !key.is_empty()
        && key.len() <= 512
        && key.split('/').all(|s| !s.is_empty() && s != "." && s != "..")
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b));
    if ok { Ok(()) } else { Err(StoreError::Invalid(format!("`{key}` is not a blob key"))) }
}

#[cfg(feature = "embedded")]
pub use files::{FileBlobs, UrlCheck};

#[cfg(feature = "embedded")]
mod files {
    use super::*;
    use hmac::{Hmac, KeyInit, Mac};
    use sha2::Sha256;
    use std::io::Write;
    use std::path::{Path, PathBuf};
    use std::sync::{Arc, OnceLock};

    /// Blobs as files under a directory, with URLs signed by a key of the store's own (HMAC-SHA256
    /// over the operation, key and expiry) and served by iron-local at `{base}/files/{key}`.
    pub struct FileBlobs {
        root: PathBuf,
        signing_key: [u8; 32],
        base_url: OnceLock<String>,
        clock: Arc<dyn crate::Clock>,
    }

    /// Why a URL was refused.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum UrlCheck {
        Valid,
        Expired,
        BadSignature,
    }

    impl FileBlobs {
        /// The store under `root` (created if missing), with a signing key kept in
        /// `root/.signing.key` (made on first use).
        pub fn open(root: &Path, clock: Arc<dyn crate::Clock>) -> StoreResult<FileBlobs> {
            std::fs::create_dir_all(root).map_err(io)?;
            let key_path = root.join(".signing.key");
            let signing_key = match std::fs::read(&key_path) {
                Ok(b) if b.len() == 32 => b.try_into().unwrap_or([0; 32]),
                _ => {
                    let k: [u8; 32] = rand::random();
                    std::fs::write(&key_path, k).map_err(io)?;
                    #[cfg(unix)]
                    {
                        use std::os::unix::fs::PermissionsExt;
                        let _ = std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600));
                    }
                    k
                }
            };
            Ok(FileBlobs { root: root.to_owned(), signing_key, base_url: OnceLock::new(), clock })
        }

        /// Where the URLs point (iron-local's address, known once it listens). Set once.
        pub fn set_base_url(&self, base: &str) {
            let _ = self.base_url.set(base.trim_end_matches('/').to_owned());
        }

        fn path(&self, key: &str) -> StoreResult<PathBuf> {
            check_key(key)?;
            Ok(self.root.join(key))
        }

        fn signature(&self, method: &str, key: &str, expires: i64, extra: &str) -> String {
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.signing_key).expect("any key length");
            mac.update(format!("{method}\n{key}\n{expires}\n{extra}").as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }

        fn url(&self, method: &'static str, key: &str, extra: &str, expires_at: DateTime<Utc>) -> StoreResult<String> {
            check_key(key)?;
            let base = self.base_url.get().map(String::as_str).unwrap_or("http://127.0.0.1");
            let expires = expires_at.timestamp();
            let sig = self.signature(method, key, expires, extra);
            let mut url = format!("{base}/files/{key}?expires={expires}&signature={sig}");
            if !extra.is_empty() {
                url.push_str("&name=");
                url.push_str(&percent(extra));
            }
            Ok(url)
        }

        /// Checks a URL's signature (constant time) and expiry against the store's clock.
        pub fn check(&self, method: &str, key: &str, expires: i64, name: &str, signature: &str) -> UrlCheck {
            let Ok(given) = hex::decode(signature) else { return UrlCheck::BadSignature };
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.signing_key).expect("any key length");
            mac.update(format!("{method}\n{key}\n{expires}\n{name}").as_bytes());
            if mac.verify_slice(&given).is_err() {
                return UrlCheck::BadSignature;
            }
            if self.clock.now().timestamp() >= expires { UrlCheck::Expired } else { UrlCheck::Valid }
        }

        /// The whole blob (the URL handler's read).
        pub fn read_all(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
            match std::fs::read(self.path(key)?) {
                Ok(b) => Ok(Some(b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(io(e)),
            }
        }

        /// Writes a blob atomically (a temporary file renamed into place).
        pub fn write_all(&self, key: &str, body: &[u8]) -> StoreResult<()> {
            let path = self.path(key)?;
            let tmp = temp_path(&path);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(io)?;
            }
            std::fs::write(&tmp, body).map_err(io)?;
            std::fs::rename(&tmp, &path).map_err(io)
        }
    }

    fn temp_path(path: &Path) -> PathBuf {
        let n: u64 = rand::random();
        path.with_extension(format!("part-{n:016x}"))
    }

    fn io(e: std::io::Error) -> StoreError {
        StoreError::Backend(format!("blob file: {e}"))
    }

    fn percent(s: &str) -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }

    struct FileWriter {
        file: std::io::BufWriter<std::fs::File>,
        tmp: PathBuf,
        path: PathBuf,
        size: u64,
    }

    #[async_trait]
    impl BlobWriter for FileWriter {
        async fn write(&mut self, bytes: &[u8]) -> StoreResult<()> {
            self.file.write_all(bytes).map_err(io)?;
            self.size += bytes.len() as u64;
            Ok(())
        }
        async fn finish(self: Box<Self>) -> StoreResult<u64> {
            let FileWriter { file, tmp, path, size } = *self;
            let file = file.into_inner().map_err(|e| io(e.into_error()))?;
            file.sync_all().map_err(io)?;
            std::fs::rename(&tmp, &path).map_err(io)?;
            Ok(size)
        }
    }

    #[async_trait]
    impl BlobStore for FileBlobs {
        async fn put(&self, key: &str, body: Vec<u8>, _content_type: &str) -> StoreResult<()> {
            self.write_all(key, &body)
        }

        async fn read(&self, key: &str, offset: u64, max: usize) -> StoreResult<Option<Vec<u8>>> {
            use std::io::{Read, Seek, SeekFrom};
            let mut f = match std::fs::File::open(self.path(key)?) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(io(e)),
            };
            f.seek(SeekFrom::Start(offset)).map_err(io)?;
            let mut out = Vec::new();
            f.take(max as u64).read_to_end(&mut out).map_err(io)?;
            Ok(Some(out))
        }

        async fn info(&self, key: &str) -> StoreResult<Option<BlobInfo>> {
            match std::fs::metadata(self.path(key)?) {
                Ok(m) => Ok(Some(BlobInfo { size: m.len() })),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(io(e)),
            }
        }

        async fn delete(&self, key: &str) -> StoreResult<()> {
            match std::fs::remove_file(self.path(key)?) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(io(e)),
            }
        }

        async fn writer(&self, key: &str, _content_type: &str) -> StoreResult<Box<dyn BlobWriter>> {
            let path = self.path(key)?;
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(io)?;
            }
            let tmp = temp_path(&path);
            let file = std::fs::File::create(&tmp).map_err(io)?;
            Ok(Box::new(FileWriter { file: std::io::BufWriter::with_capacity(1 << 16, file), tmp, path, size: 0 }))
        }

        async fn download_url(&self, key: &str, filename: &str, expires_at: DateTime<Utc>) -> StoreResult<Presigned> {
            Ok(Presigned {
                url: self.url("GET", key, filename, expires_at)?,
                method: "GET",
                headers: Vec::new(),
                expires_at,
            })
        }

        async fn upload_url(&self, key: &str, content_type: &str, expires_at: DateTime<Utc>) -> StoreResult<Presigned> {
            Ok(Presigned {
                url: self.url("PUT", key, "", expires_at)?,
                method: "PUT",
                headers: vec![("Content-Type".into(), content_type.into())],
                expires_at,
            })
        }
    }
}
