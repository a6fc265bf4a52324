//! Tenant scoping by construction. Every key of a business's data is built from a
//! [`TenantScope`]; repositories take one, and the only ways to get one are from an authenticated
//! API key (the request's own business) or, explicitly, as the platform operator.

use iron_domain::{ApiKey, Id};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantScope {
    business_id: Id,
}

impl TenantScope {
    /// The scope of the business that owns an authenticated key.
    pub fn of_key(key: &ApiKey) -> TenantScope {
        TenantScope { business_id: key.business_id.clone() }
    }

    /// For platform-operator tooling (CLI, seeding), which acts on a business it names.
    pub fn operator(business_id: Id) -> TenantScope {
        TenantScope { business_id }
    }

    pub fn business_id(&self) -> &Id {
        &self.business_id
    }
}
