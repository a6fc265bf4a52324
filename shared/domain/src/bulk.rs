//! Bulk writes (the bulk endpoints and import jobs): what a refused row reports, and the keys
//! duplicates are found by. The field rules themselves are each resource's own
//! ([`crate::athlete::apply_fields`], [`crate::fitness_test::validate_new`]).

use crate::search::fold;
use crate::validation::FieldError;
use serde::{Deserialize, Serialize};

/// The most rows one bulk request may carry (413 above it).
pub const MAX_BULK_ROWS: usize = 1000;

/// Why a row was refused, for code to branch on (the message is for people).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RowErrorCode {
    /// A required field is missing.
    Required,
    /// A field this resource doesn't have.
    UnknownField,
    /// A value breaks the field's rule (the message says which).
    Invalid,
    /// An earlier row of the same batch (or file) has this email or external id.
    DuplicateInBatch,
    /// A stored record has this email or external id (and `updateExisting` is off), or the same
    /// test is already recorded.
    Duplicate,
    /// The row names something this business doesn't have (an athlete, a location).
    NotFound,
    /// Another write changed the record at the same time; sending the row again is safe.
    Conflict,
}

/// One refused row: which, which field, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RowError {
    /// The row's 0-based position in the request's array (in a file: the 1-based data row, the
    /// header not counted).
    pub index: usize,
    /// A JSON pointer into the row (`/email`), empty when the whole row is at fault.
    pub field: String,
    pub code: RowErrorCode,
    pub message: String,
}

impl RowError {
    pub fn new(index: usize, field: &str, code: RowErrorCode, message: impl Into<String>) -> RowError {
        RowError { index, field: field.to_owned(), code, message: message.into() }
    }

    /// The row errors of a resource's validation errors.
    pub fn from_fields(index: usize, errors: Vec<FieldError>) -> Vec<RowError> {
        errors
            .into_iter()
            .map(|e| {
                let code = if e.message.starts_with("is required") {
                    RowErrorCode::Required
                } else if e.message.starts_with("is not a field of") {
                    RowErrorCode::UnknownField
                } else {
                    RowErrorCode::Invalid
                };
                RowError { index, field: e.field, code, message: e.message }
            })
            .collect()
    }
}

/// The key an email is unique by: trimmed, case-folded, accents and compatibility forms folded
/// (`José@Example.COM`, ` jose@example.com ` and a decomposed `Jose\u{301}@…` are one member),
/// the same key the single endpoints guard.
pub fn email_key(email: &str) -> String {
    fold(email.trim())
}

/// The key an external id is unique by: trimmed, otherwise exact (ids are case-sensitive in the
/// systems they come from).
pub fn external_key(external_id: &str) -> String {
    external_id.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_one_key_whatever_their_case_spacing_or_unicode_form() {
        let composed = email_key("José.Núñez@Example.com");
        for variant in
            ["  jose.nunez@example.COM ", "Jose\u{301}.Nu\u{303}n\u{303}ez@example.com", "JOSÉ.NÚÑEZ@EXAMPLE.COM"]
        {
            assert_eq!(email_key(variant), composed, "{variant:?}");
        }
        assert_ne!(email_key("jose.nunez@example.com"), email_key("jose.nunez2@example.com"));
        assert_eq!(external_key(" CRM-1 "), "CRM-1");
        assert_ne!(external_key("crm-1"), external_key("CRM-1"));
    }

    #[test]
    fn validation_messages_get_codes() {
        let errors = RowError::from_fields(
            3,
            vec![
                FieldError { field: "/firstName".into(), message: "is required".into() },
                FieldError { field: "/nickname".into(), message: "is not a field of an athlete; fields: …".into() },
                FieldError { field: "/email".into(), message: "is not an email address".into() },
            ],
        );
        let codes: Vec<RowErrorCode> = errors.iter().map(|e| e.code).collect();
        assert_eq!(codes, [RowErrorCode::Required, RowErrorCode::UnknownField, RowErrorCode::Invalid]);
        assert!(errors.iter().all(|e| e.index == 3));
    }
}
