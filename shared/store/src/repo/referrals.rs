//! Partners and their referrals; stats per partner over a date range.

use super::{RepoResult, decode, encode};
use crate::item::{Index, Query, SkCondition};
use crate::keys;
use crate::table::{Condition, TableStore, TxOp};
use crate::tenant::{TenantDb, TenantScope};
use chrono::NaiveDate;
use iron_domain::referral::stats_by_partner;
use iron_domain::{Partner, Referral, ReferralStats};

pub fn create_partner_op(scope: &TenantScope, p: &Partner) -> TxOp {
    TxOp::Put {
        item: keys::item_of("partner", encode(p), keys::partner(scope, &p.id)),
        condition: Condition::NotExists,
    }
}

pub fn create_referral_op(scope: &TenantScope, r: &Referral) -> TxOp {
    TxOp::Put {
        item: keys::item_of("referral", encode(r), keys::referral(scope, r.referred_at, &r.id)),
        condition: Condition::NotExists,
    }
}

async fn all_of<T: serde::de::DeserializeOwned>(store: &dyn TableStore, mut query: Query) -> RepoResult<Vec<T>> {
    let mut out = Vec::new();
    loop {
        let page = store.query(query.clone()).await?;
        for item in page.items {
            out.push(decode(item)?);
        }
        match page.next {
            Some(c) => query = query.after(Some(c)),
            None => return Ok(out),
        }
    }
}

pub async fn partners(db: TenantDb<'_>) -> RepoResult<Vec<Partner>> {
    let (store, scope) = (db.store(), db.scope());
    all_of(store, Query::new(Index::Table, keys::partners_partition(scope)).limit(1000)).await
}

/// Per-partner figures for referrals made between `from` and `to` (inclusive days, UTC).
pub async fn stats(db: TenantDb<'_>, from: Option<NaiveDate>, to: Option<NaiveDate>) -> RepoResult<Vec<ReferralStats>> {
    let (store, scope) = (db.store(), db.scope());
    let partners = partners(db).await?;
    let (lo, hi) = keys::day_bounds(from, to);
    let referrals: Vec<Referral> = all_of(
        store,
        Query::new(Index::Table, keys::referrals_partition(scope)).sk(SkCondition::Between(lo, hi)).limit(1000),
    )
    .await?;
    Ok(stats_by_partner(&partners, &referrals))
}
