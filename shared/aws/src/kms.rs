//! KMS envelope encryption: a data key per value from `GenerateDataKey`, AES-256-GCM locally,
//! only the KMS-encrypted data key stored. The encryption context binds both layers to a tenant.
//!
//! Decrypted data keys are kept in memory for [`DATA_KEY_TTL`] (by encrypted key and context),
//! so signing every webhook delivery doesn't cost a `Decrypt` call: KMS's request quota is per
//! account and Region, and a busy dispatcher would otherwise spend it.

use crate::sdk_error;
use async_trait::async_trait;
use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use iron_store::cipher::{EncryptionContext, context_aad, open, seal};
use iron_store::table::StoreResult;
use iron_store::{Envelope, KeyCipher, StoreError};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// How long a decrypted data key is reused.
pub const DATA_KEY_TTL: Duration = Duration::from_secs(300);
/// Data keys kept at most (the oldest half is dropped when full).
const DATA_KEYS_KEPT: usize = 1024;

/// (encrypted data key, context bytes) → (plaintext data key, when it was decrypted).
type DataKeys = HashMap<(Vec<u8>, Vec<u8>), (Zeroizing<Vec<u8>>, Instant)>;

pub struct KmsKeyCipher {
    client: Client,
    key_id: String,
    data_keys: Mutex<DataKeys>,
    decrypt_calls: AtomicU64,
}

impl KmsKeyCipher {
    pub fn new(client: Client, key_id: impl Into<String>) -> KmsKeyCipher {
        KmsKeyCipher { client, key_id: key_id.into(), data_keys: Mutex::default(), decrypt_calls: AtomicU64::new(0) }
    }

    /// `Decrypt` calls made to KMS so far (the cache's effect, for tests and metrics).
    pub fn decrypt_calls(&self) -> u64 {
        self.decrypt_calls.load(Ordering::Relaxed)
    }

    fn cached(&self, id: &(Vec<u8>, Vec<u8>)) -> Option<Zeroizing<Vec<u8>>> {
        let keys = self.data_keys.lock().unwrap_or_else(|e| e.into_inner());
        keys.get(id).filter(|(_, at)| at.elapsed() < DATA_KEY_TTL).map(|(k, _)| k.clone())
    }

    fn keep(&self, id: (Vec<u8>, Vec<u8>), data_key: Zeroizing<Vec<u8>>) {
        let mut keys = self.data_keys.lock().unwrap_or_else(|e| e.into_inner());
        if keys.len() >= DATA_KEYS_KEPT {
            keys.retain(|_, (_, at)| at.elapsed() < DATA_KEY_TTL);
            if keys.len() >= DATA_KEYS_KEPT {
                let mut ages: Vec<Instant> = keys.values().map(|(_, at)| *at).collect();
                ages.sort();
                let cut = ages[ages.len() / 2];
                keys.retain(|_, (_, at)| *at > cut);
            }
        }
        keys.insert(id, (data_key, Instant::now()));
    }
}

fn ctx(context: &EncryptionContext) -> Option<HashMap<String, String>> {
    (!context.is_empty()).then(|| context.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

#[async_trait]
impl KeyCipher for KmsKeyCipher {
    async fn encrypt(&self, plaintext: &[u8], context: &EncryptionContext) -> StoreResult<Envelope> {
        let out = self
            .client
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(DataKeySpec::Aes256)
            .set_encryption_context(ctx(context))
            .send()
            .await
            .map_err(sdk_error)?;
        let data_key =
            out.plaintext().ok_or_else(|| StoreError::Backend("GenerateDataKey returned no plaintext".into()))?;
        let wrapped = out
            .ciphertext_blob()
            .ok_or_else(|| StoreError::Backend("GenerateDataKey returned no ciphertext".into()))?;
        let (nonce, ciphertext) = seal(data_key.as_ref(), plaintext, &context_aad(context))?;
        Ok(Envelope {
            key_id: out.key_id().unwrap_or(&self.key_id).to_owned(),
            encrypted_data_key: wrapped.as_ref().to_vec(),
            nonce,
            ciphertext,
        })
    }

    async fn decrypt(&self, envelope: &Envelope, context: &EncryptionContext) -> StoreResult<Vec<u8>> {
        let aad = context_aad(context);
        let id = (envelope.encrypted_data_key.clone(), aad.clone());
        if let Some(data_key) = self.cached(&id) {
            return open(&data_key, &envelope.nonce, &envelope.ciphertext, &aad);
        }
        self.decrypt_calls.fetch_add(1, Ordering::Relaxed);
        let out = self
            .client
            .decrypt()
            .key_id(&envelope.key_id)
            .ciphertext_blob(Blob::new(envelope.encrypted_data_key.clone()))
            .set_encryption_context(ctx(context))
            .send()
            .await
            .map_err(|e| match sdk_error(e) {
                StoreError::Backend(m) if m.contains("InvalidCiphertext") => {
                    StoreError::Invalid("decryption failed: wrong key or context".into())
                }
                other => other,
            })?;
        let data_key = Zeroizing::new(
            out.plaintext()
                .ok_or_else(|| StoreError::Backend("Decrypt returned no plaintext".into()))?
                .as_ref()
                .to_vec(),
        );
        let plaintext = open(&data_key, &envelope.nonce, &envelope.ciphertext, &aad)?;
        // Kept only once it has opened the value: a data key is cached only if it is genuine.
        self.keep(id, data_key);
        Ok(plaintext)
    }
}
