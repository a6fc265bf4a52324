//! The demo gym's memberships, payments and app opens (the churn model's price, payment and
//! app factors), and its gym record billing in euros: a plan per active member priced by how
//! often they come, three months of monthly payments with the odd failure (most paid again
//! days later, a few still owed), some memberships ending within the notice, and app opens for
//! the members who use the app.

use chrono::{DateTime, Duration, Utc};
use iron_domain::billing::{BillingPeriod, MemberMembership, MembershipStatus, Payment, PaymentStatus};
use iron_domain::sync::{Gym, default_gym_id};
use iron_domain::{Athlete, AthleteStatus, Business, Id, IdKind, Location};
use iron_store::TenantDb;
use iron_store::repo::{RepoResult, analytics, sync};
use rand::rngs::StdRng;
use rand::{Rng, RngCore};

fn id(rng: &mut StdRng, kind: IdKind, at: DateTime<Utc>) -> Id {
    let mut random = [0u8; 10];
    rng.fill_bytes(&mut random);
    Id::from_parts(kind, at.timestamp_millis(), random)
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BillingSummary {
    pub memberships: usize,
    pub payments: usize,
    pub failed_unpaid: usize,
    pub app_users: usize,
}

pub async fn seed(
    db: TenantDb<'_>,
    business: &Business,
    members: &[Athlete],
    locations: &[Location],
    now: DateTime<Utc>,
    rng: &mut StdRng,
) -> RepoResult<BillingSummary> {
    let gym = Gym {
        id: default_gym_id(&business.id, business.created_at),
        name: business.name.clone(),
        location_ids: locations.iter().map(|l| l.id.clone()).collect(),
        currency: "EUR".into(),
        created_at: business.created_at,
        updated_at: business.created_at,
    };
    sync::create_gym(db, &gym).await?;
    let mut summary = BillingSummary::default();
    let today = now.date_naive();
    for m in members.iter().filter(|m| m.status == AthleteStatus::Active) {
        let (plan, price, period) = [
            ("Unlimited", 129.0, BillingPeriod::Monthly),
            ("3x week", 99.0, BillingPeriod::Monthly),
            ("2x week", 79.0, BillingPeriod::Monthly),
            ("Weekly pass", 25.0, BillingPeriod::Weekly),
            ("Annual", 1188.0, BillingPeriod::Yearly),
        ][rng.random_range(0..5)];
        let start = m.joined_on.unwrap_or(today);
        // One in six on a fixed term ending within the next six weeks.
        let end = rng.random_bool(1.0 / 6.0).then(|| today + Duration::days(rng.random_range(3..42)));
        let membership = MemberMembership {
            id: id(rng, IdKind::Membership, m.created_at),
            athlete_id: m.id.clone(),
            plan: plan.into(),
            price,
            currency: "EUR".into(),
            billing_period: period,
            start,
            end,
            status: MembershipStatus::Active,
            holds: vec![],
            created_at: m.created_at,
        };
        analytics::create_membership(db, &membership).await?;
        summary.memberships += 1;
        let monthly = (membership.monthly_value() * 100.0).round() / 100.0;
        let trouble = rng.random_range(0..100);
        for k in (0..3).rev() {
            let date = today - Duration::days(30 * k + rng.random_range(0..5));
            let failed_last = k == 0 && trouble < 6;
            let failed_then_paid = (6..12).contains(&trouble) && k == 1;
            let status = if failed_last || failed_then_paid { PaymentStatus::Failed } else { PaymentStatus::Succeeded };
            let pay = |date, status, reason: Option<&str>, rng: &mut StdRng| Payment {
                id: id(rng, IdKind::Payment, now),
                athlete_id: m.id.clone(),
                membership_id: Some(membership.id.clone()),
                amount: monthly,
                currency: "EUR".into(),
                status,
                date,
                failure_reason: reason.map(str::to_owned),
                created_at: now,
            };
            let reason = (status == PaymentStatus::Failed).then_some("card_declined");
            analytics::create_payment(db, &pay(date, status, reason, rng), &[]).await?;
            summary.payments += 1;
            if failed_then_paid {
                analytics::create_payment(db, &pay(date + Duration::days(3), PaymentStatus::Succeeded, None, rng), &[])
                    .await?;
                summary.payments += 1;
            }
            if failed_last {
                summary.failed_unpaid += 1;
            }
        }
        // App users open it a few times a week.
        if rng.random_bool(0.6) {
            summary.app_users += 1;
            let per_week = rng.random_range(1..6);
            let quiet_for = if rng.random_bool(0.2) { rng.random_range(8..30) } else { 0 };
            let days: Vec<(chrono::NaiveDate, i64)> = (quiet_for..28)
                .filter(|_| rng.random_range(0..7) < per_week)
                .map(|d| (today - Duration::days(d), 1))
                .collect();
            if !days.is_empty() {
                analytics::record_app_opens(db, &m.id, &days).await?;
            }
        }
    }
    Ok(summary)
}
