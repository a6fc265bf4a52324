//! A member's memberships and payments, recorded through the API by gyms without a synced
//! gym-management system (a Wodify gym gets the same from its sync), and their app opens: the
//! native sources of the churn model's price, payment and app factors.

use crate::id::Id;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum BillingPeriod {
    Weekly,
    Monthly,
    Yearly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum MembershipStatus {
    Active,
    Paused,
    Cancelled,
    Ended,
}

/// A pause of the membership, `from` to `to` inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Hold {
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberMembership {
    pub id: Id,
    pub athlete_id: Id,
    pub plan: String,
    /// The price of one billing period.
    pub price: f64,
    /// ISO 4217.
    pub currency: String,
    pub billing_period: BillingPeriod,
    pub start: NaiveDate,
    /// The last day it covers; none for an open-ended membership.
    pub end: Option<NaiveDate>,
    pub status: MembershipStatus,
    pub holds: Vec<Hold>,
    pub created_at: DateTime<Utc>,
}

impl MemberMembership {
    /// The recurring revenue it brings in a month.
    pub fn monthly_value(&self) -> f64 {
        match self.billing_period {
            BillingPeriod::Weekly => self.price * 52.0 / 12.0,
            BillingPeriod::Monthly => self.price,
            BillingPeriod::Yearly => self.price / 12.0,
        }
    }

    /// Whether it is paying on `day`: active (or paused but outside its holds), started, not ended.
    pub fn covers(&self, day: NaiveDate) -> bool {
        let in_dates = self.start <= day && self.end.is_none_or(|e| day <= e);
        let on_hold = self.holds.iter().any(|h| h.from <= day && day <= h.to);
        in_dates && !on_hold && matches!(self.status, MembershipStatus::Active | MembershipStatus::Paused)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum PaymentStatus {
    Succeeded,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    pub id: Id,
    pub athlete_id: Id,
    pub membership_id: Option<Id>,
    pub amount: f64,
    pub currency: String,
    pub status: PaymentStatus,
    /// The day it was charged.
    pub date: NaiveDate,
    pub failure_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// ISO 4217-shaped: three capital letters.
pub fn is_currency(s: &str) -> bool {
    s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(period: BillingPeriod, price: f64) -> MemberMembership {
        MemberMembership {
            id: Id::generate(crate::IdKind::Membership, 0),
            athlete_id: Id::generate(crate::IdKind::Athlete, 0),
            plan: "Unlimited".into(),
            price,
            currency: "EUR".into(),
            billing_period: period,
            start: "2026-01-01".parse().unwrap(),
            end: Some("2026-12-31".parse().unwrap()),
            status: MembershipStatus::Active,
            holds: vec![Hold { from: "2026-06-01".parse().unwrap(), to: "2026-06-30".parse().unwrap() }],
            created_at: DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn monthly_value_and_cover() {
        assert_eq!(m(BillingPeriod::Monthly, 129.0).monthly_value(), 129.0);
        assert_eq!(m(BillingPeriod::Weekly, 30.0).monthly_value(), 130.0);
        assert_eq!(m(BillingPeriod::Yearly, 1200.0).monthly_value(), 100.0);
        let x = m(BillingPeriod::Monthly, 129.0);
        assert!(x.covers("2026-12-31".parse().unwrap()));
        assert!(!x.covers("2027-01-01".parse().unwrap()));
        assert!(!x.covers("2026-06-15".parse().unwrap()), "on hold");
        assert!(!MemberMembership { status: MembershipStatus::Cancelled, ..x }.covers("2026-03-01".parse().unwrap()));
    }
}
