//! Where each entity lives in Wodify's API (`../shared/reference/wodify-api.md` §2). The paths
//! marked ASSUMED there (sign-ins across clients, transactions) are data, not code: a
//! deployment that finds them different changes this table.

use iron_domain::sync::Entity;

#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    pub entity: Entity,
    /// The list path (relative to the base URL), or the search path for dated entities.
    pub path: &'static str,
    /// The key of the records list in the envelope.
    pub records: &'static str,
    /// The date field a window searches on (dated entities).
    pub date_field: Option<&'static str>,
    /// The detail path prefix (`clients` → `clients/{id}`) when the detail carries more
    /// (status history, holds).
    pub detail: Option<&'static str>,
    /// The raw zone's entity names: the list records, and the details.
    pub raw: &'static str,
    pub raw_detail: &'static str,
}

pub const ENDPOINTS: [Endpoint; 7] = [
    Endpoint {
        entity: Entity::Locations,
        path: "customers/locations",
        records: "locations",
        date_field: None,
        detail: None,
        raw: "locations",
        raw_detail: "",
    },
    Endpoint {
        entity: Entity::Programs,
        path: "programs",
        records: "programs",
        date_field: None,
        detail: None,
        raw: "programs",
        raw_detail: "",
    },
    Endpoint {
        entity: Entity::Clients,
        path: "clients",
        records: "clients",
        date_field: None,
        detail: Some("clients"),
        raw: "clients",
        raw_detail: "client_details",
    },
    Endpoint {
        entity: Entity::Memberships,
        path: "memberships",
        records: "memberships",
        date_field: None,
        detail: Some("memberships"),
        raw: "memberships",
        raw_detail: "membership_details",
    },
    Endpoint {
        entity: Entity::Attendance,
        path: "classes/sign-ins/clients/search",
        records: "class_sign_ins",
        date_field: Some("local_class_start_datetime"),
        detail: None,
        raw: "attendance",
        raw_detail: "",
    },
    Endpoint {
        entity: Entity::Invoices,
        path: "financials/invoices/search",
        records: "invoices",
        date_field: Some("payment_due"),
        detail: None,
        raw: "invoices",
        raw_detail: "",
    },
    Endpoint {
        entity: Entity::Transactions,
        path: "financials/transactions/search",
        records: "transactions",
        date_field: Some("transaction_datetime"),
        detail: None,
        raw: "transactions",
        raw_detail: "",
    },
];

/// Every raw entity name (for a purge).
pub const RAW_ENTITIES: [&str; 9] = [
    "locations",
    "programs",
    "clients",
    "client_details",
    "memberships",
    "membership_details",
    "attendance",
    "invoices",
    "transactions",
];

/// Canonical kinds (for a purge and the metrics).
pub const CANONICAL_KINDS: [&str; 7] =
    ["locations", "programs", "members", "memberships", "attendance", "invoices", "transactions"];
