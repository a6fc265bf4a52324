//! KMS envelope encryption: a data key per value from `GenerateDataKey`, AES-256-GCM locally,
//! only the KMS-encrypted data key stored. The encryption context binds both layers to a tenant.

use crate::sdk_error;
use async_trait::async_trait;
use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use iron_store::cipher::{EncryptionContext, context_aad, open, seal};
use iron_store::table::StoreResult;
use iron_store::{Envelope, KeyCipher, StoreError};
use std::collections::HashMap;

pub struct KmsKeyCipher {
    client: Client,
    key_id: String,
}

impl KmsKeyCipher {
    pub fn new(client: Client, key_id: impl Into<String>) -> KmsKeyCipher {
        KmsKeyCipher { client, key_id: key_id.into() }
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
        let data_key = out.plaintext().ok_or_else(|| StoreError::Backend("Decrypt returned no plaintext".into()))?;
        open(data_key.as_ref(), &envelope.nonce, &envelope.ciphertext, &context_aad(context))
    }
}
