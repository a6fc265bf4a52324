//! Tenant scoping by construction. Every key of a business's data is built from a
//! [`TenantScope`]; repositories take one for every call. Request code gets one in one way only:
//! authentication ([`platform::authenticate`](crate::repo::platform::authenticate)) makes it from
//! the key that was presented, and the API hands it to a handler only through
//! `Principal::require(scope)`.
//!
//! Tools that act on a business they name (iron-admin, the demo seed, iron-local's start-up,
//! background workers reading the business from a message, tests) use an [`OperatorScope`],
//! which exists only with this crate's `operator` feature. No API function enables it, and CI
//! builds the API functions on their own, so request code that reached for one wouldn't compile.

use crate::table::TableStore;
use iron_domain::{ApiKey, Id};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantScope {
    business_id: Id,
}

impl TenantScope {
    pub(crate) fn new(business_id: Id) -> TenantScope {
        TenantScope { business_id }
    }

    /// The scope of the business that owns a key this crate looked up.
    pub(crate) fn of_key(key: &ApiKey) -> TenantScope {
        TenantScope::new(key.business_id.clone())
    }

    pub fn business_id(&self) -> &Id {
        &self.business_id
    }
}

/// One business's data: the table and that business's scope, together. Every repository call
/// takes one. The table inside is reachable only from this crate, so code that holds a
/// `TenantDb` — a request handler, given one by `Principal::require` — can reach that business's
/// data through the repositories and nothing else.
#[derive(Clone, Copy)]
pub struct TenantDb<'a> {
    store: &'a dyn TableStore,
    scope: &'a TenantScope,
}

impl<'a> TenantDb<'a> {
    /// Scopes a table the caller holds (the API's authentication layer, operator tools,
    /// background workers, tests) to one business.
    pub fn new(store: &'a dyn TableStore, scope: &'a TenantScope) -> TenantDb<'a> {
        TenantDb { store, scope }
    }

    pub(crate) fn store(&self) -> &'a dyn TableStore {
        self.store
    }

    pub fn scope(&self) -> &'a TenantScope {
        self.scope
    }

    pub fn business_id(&self) -> &'a Id {
        self.scope.business_id()
    }
}

/// The platform operator acting on a business it names. Derefs to that business's
/// [`TenantScope`], so every repository takes it.
#[cfg(feature = "operator")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OperatorScope(TenantScope);

#[cfg(feature = "operator")]
impl OperatorScope {
    pub fn new(business_id: Id) -> OperatorScope {
        OperatorScope(TenantScope::new(business_id))
    }

    pub fn tenant(&self) -> &TenantScope {
        &self.0
    }
}

#[cfg(feature = "operator")]
impl std::ops::Deref for OperatorScope {
    type Target = TenantScope;
    fn deref(&self) -> &TenantScope {
        &self.0
    }
}
