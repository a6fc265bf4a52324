//! The key-cipher port: envelope encryption of third-party secrets (Wodify API keys). Each value
//! gets a fresh 256-bit data key; the data key is wrapped by a master key (KMS on AWS, a local
//! key file here) and only the wrapped form is stored beside the ciphertext. The encryption
//! context (tenant ids) is bound to both layers, so a ciphertext moved to another tenant fails.

use crate::table::{StoreError, StoreResult};
use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use async_trait::async_trait;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox};
use std::collections::BTreeMap;
use std::path::Path;

pub type EncryptionContext = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// Which master key wrapped the data key.
    pub key_id: String,
    pub encrypted_data_key: Vec<u8>,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

#[async_trait]
pub trait KeyCipher: Send + Sync + 'static {
    async fn encrypt(&self, plaintext: &[u8], context: &EncryptionContext) -> StoreResult<Envelope>;
    async fn decrypt(&self, envelope: &Envelope, context: &EncryptionContext) -> StoreResult<Vec<u8>>;
}

/// Canonical bytes of a context, used as AES-GCM associated data.
pub fn context_aad(context: &EncryptionContext) -> Vec<u8> {
    serde_json::to_vec(context).unwrap_or_default()
}

/// AES-256-GCM with a random 96-bit nonce; returns (nonce, ciphertext).
pub fn seal(key: &[u8], plaintext: &[u8], aad: &[u8]) -> StoreResult<(Vec<u8>, Vec<u8>)> {
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| StoreError::Invalid("data keys are 32 bytes".into()))?;
    let mut nonce = [0u8; 12];
    rand::rng().fill_bytes(&mut nonce);
    let ct = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad })
        .map_err(|_| StoreError::Backend("encryption failed".into()))?;
    Ok((nonce.to_vec(), ct))
}

pub fn open(key: &[u8], nonce: &[u8], ciphertext: &[u8], aad: &[u8]) -> StoreResult<Vec<u8>> {
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| StoreError::Invalid("data keys are 32 bytes".into()))?;
    if nonce.len() != 12 {
        return Err(StoreError::Invalid("nonce must be 12 bytes".into()));
    }
    cipher
        .decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad })
        .map_err(|_| StoreError::Invalid("decryption failed: wrong key, context or tampered data".into()))
}

/// Envelope encryption under a local master key (a 32-byte file, created on first use).
pub struct LocalKeyCipher {
    master: SecretBox<[u8; 32]>,
    key_id: String,
}

impl LocalKeyCipher {
    pub fn from_bytes(master: [u8; 32]) -> LocalKeyCipher {
        LocalKeyCipher { master: SecretBox::new(Box::new(master)), key_id: "local".into() }
    }

    /// Loads the master key file, creating it (mode 0600) if absent.
    pub fn load_or_create(path: &Path) -> StoreResult<LocalKeyCipher> {
        let io = |e: std::io::Error| StoreError::Backend(format!("master key file {}: {e}", path.display()));
        if let Ok(bytes) = std::fs::read(path) {
            let master: [u8; 32] = bytes
                .try_into()
                .map_err(|_| StoreError::Invalid(format!("{} must hold exactly 32 bytes", path.display())))?;
            return Ok(Self::from_bytes(master));
        }
        let mut master = [0u8; 32];
        rand::rng().fill_bytes(&mut master);
        std::fs::write(path, master).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        }
        Ok(Self::from_bytes(master))
    }
}

#[async_trait]
impl KeyCipher for LocalKeyCipher {
    async fn encrypt(&self, plaintext: &[u8], context: &EncryptionContext) -> StoreResult<Envelope> {
        let aad = context_aad(context);
        let mut data_key = [0u8; 32];
        rand::rng().fill_bytes(&mut data_key);
        let (nonce, ciphertext) = seal(&data_key, plaintext, &aad)?;
        let (wrap_nonce, wrapped) = seal(self.master.expose_secret(), &data_key, &aad)?;
        let mut encrypted_data_key = wrap_nonce;
        encrypted_data_key.extend(wrapped);
        Ok(Envelope { key_id: self.key_id.clone(), encrypted_data_key, nonce, ciphertext })
    }

    async fn decrypt(&self, envelope: &Envelope, context: &EncryptionContext) -> StoreResult<Vec<u8>> {
        let aad = context_aad(context);
        if envelope.encrypted_data_key.len() < 12 {
            return Err(StoreError::Invalid("malformed encrypted data key".into()));
        }
        let (wrap_nonce, wrapped) = envelope.encrypted_data_key.split_at(12);
        let data_key = open(self.master.expose_secret(), wrap_nonce, wrapped, &aad)?;
        open(&data_key, &envelope.nonce, &envelope.ciphertext, &aad)
    }
}
