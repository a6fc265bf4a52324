//! Wire shapes (camelCase JSON). Kept apart from the domain so storage can evolve without
//! changing the API.

use chrono::{DateTime, NaiveDate, Utc};
use iron_domain::fitness_test::DerivedResults;
use iron_domain::{Athlete, AthleteSource, AthleteStatus, FitnessTest, Modality, Sex, Stage, TestType};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AthleteOut {
    #[schema(example = "ath_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7")]
    pub id: String,
    /// The business's own id for this member (CRM, gym software).
    pub external_id: Option<String>,
    pub source: AthleteSource,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub sex: Sex,
    pub status: AthleteStatus,
    pub location_id: Option<String>,
    pub joined_on: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Athlete> for AthleteOut {
    fn from(a: Athlete) -> Self {
        AthleteOut {
            id: a.id.into(),
            external_id: a.external_id,
            source: a.source,
            first_name: a.first_name,
            last_name: a.last_name,
            email: a.email,
            phone: a.phone,
            birth_date: a.birth_date,
            sex: a.sex,
            status: a.status,
            location_id: a.location_id.map(Into::into),
            joined_on: a.joined_on,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AthleteDetailOut {
    #[serde(flatten)]
    pub athlete: AthleteOut,
    /// The five most recent tests, newest first.
    pub recent_tests: Vec<TestSummaryOut>,
}

/// A test without its stages (list views).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestSummaryOut {
    #[schema(example = "tst_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7")]
    pub id: String,
    pub athlete_id: String,
    pub test_type: TestType,
    pub modality: Modality,
    pub performed_at: DateTime<Utc>,
    pub location_id: Option<String>,
    pub stage_count: usize,
    pub results: DerivedResults,
}

impl From<&FitnessTest> for TestSummaryOut {
    fn from(t: &FitnessTest) -> Self {
        TestSummaryOut {
            id: t.id.to_string(),
            athlete_id: t.athlete_id.to_string(),
            test_type: t.test_type,
            modality: t.modality,
            performed_at: t.performed_at,
            location_id: t.location_id.as_ref().map(ToString::to_string),
            stage_count: t.stages.len(),
            results: t.results.clone(),
        }
    }
}

/// The full test: protocol stages and the results derived from them.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestOut {
    pub id: String,
    pub athlete_id: String,
    pub test_type: TestType,
    pub modality: Modality,
    pub performed_at: DateTime<Utc>,
    pub location_id: Option<String>,
    pub body_mass_kg: Option<f64>,
    pub stages: Vec<Stage>,
    pub results: DerivedResults,
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Beta (`X-Beta-Features: test-zones`): five heart-rate zones from LT1/LT2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zones: Option<Vec<iron_domain::fitness_test::TrainingZone>>,
}

impl From<FitnessTest> for TestOut {
    fn from(t: FitnessTest) -> Self {
        TestOut {
            id: t.id.into(),
            athlete_id: t.athlete_id.into(),
            test_type: t.test_type,
            modality: t.modality,
            performed_at: t.performed_at,
            location_id: t.location_id.map(Into::into),
            body_mass_kg: t.body_mass_kg,
            stages: t.stages,
            results: t.results,
            notes: t.notes,
            created_at: t.created_at,
            updated_at: t.updated_at,
            zones: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReferralReportOut {
    /// First day of the range (UTC), inclusive.
    pub date_from: NaiveDate,
    /// Last day of the range (UTC), inclusive.
    pub date_to: NaiveDate,
    pub totals: ReferralTotalsOut,
    /// One row per partner, most referrals first.
    pub partners: Vec<iron_domain::ReferralStats>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReferralTotalsOut {
    pub referred: u32,
    pub converted: u32,
    pub conversion_rate: f64,
}

/// A key as its business sees it: never the secret.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyOut {
    #[schema(example = "key_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7")]
    pub id: String,
    pub name: String,
    /// The secret's first 12 characters, to tell keys apart.
    #[schema(example = "bak_3f9c1a2b")]
    pub prefix: String,
    pub scopes: Vec<iron_domain::Scope>,
    pub tier: iron_domain::RateTier,
    /// `active`, `expired` or `revoked`.
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Updated at most once a minute.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Addresses and CIDR ranges the key may be used from; empty: anywhere.
    pub allowed_ips: Vec<String>,
    /// The key this one replaced by rotation.
    pub replaces: Option<String>,
}

impl ApiKeyOut {
    pub fn new(k: iron_domain::ApiKey, last_used_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> ApiKeyOut {
        ApiKeyOut {
            state: k.state_at(now).into(),
            id: k.id.into(),
            name: k.name,
            prefix: k.prefix,
            scopes: k.scopes,
            tier: k.tier,
            created_at: k.created_at,
            expires_at: k.expires_at,
            revoked_at: k.revoked_at,
            last_used_at,
            allowed_ips: k.allowed_ips.iter().map(ToString::to_string).collect(),
            replaces: k.replaces.map(Into::into),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyCreatedOut {
    #[serde(flatten)]
    pub key: ApiKeyOut,
    /// The key itself: shown in this response only. Store it now.
    pub secret: String,
}

#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiKeyIn {
    /// 1–100 characters, e.g. "Zapier integration".
    pub name: String,
    /// At least one; none beyond the calling key's own.
    pub scopes: Vec<String>,
    /// Default: the calling key's tier; never higher.
    pub tier: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    /// IPv4/IPv6 addresses or CIDR ranges (at most 50); omitted or empty: anywhere.
    #[serde(default)]
    pub allowed_ips: Vec<String>,
}

#[derive(Debug, Default, serde::Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotateIn {
    /// How long the old key keeps working: 0–720 hours, default 24.
    pub grace_period_hours: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RotatedOut {
    pub key: ApiKeyCreatedOut,
    /// The old key, now with its expiry.
    pub previous: ApiKeyOut,
}
