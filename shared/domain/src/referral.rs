//! Partner referrals: physiotherapists, corporate wellness programmes and other partners send
//! leads to the gym; the business wants to know which partners convert.

use crate::id::Id;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Partner {
    pub id: Id,
    pub name: String,
    /// e.g. `physio`, `corporate`, `member`, `influencer`.
    pub kind: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferralStatus {
    Pending,
    Converted,
    Lost,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Referral {
    pub id: Id,
    pub partner_id: Id,
    pub referred_at: DateTime<Utc>,
    pub status: ReferralStatus,
    /// The member the lead became, once converted.
    pub athlete_id: Option<Id>,
    pub converted_at: Option<DateTime<Utc>>,
}

/// One partner's figures for referrals made in a date range (a cohort: a referral counts as
/// converted if it has converted by now, whenever that happened).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReferralStats {
    #[schema(value_type = String)]
    pub partner_id: Id,
    pub partner_name: String,
    pub partner_kind: String,
    pub referred: u32,
    pub converted: u32,
    pub pending: u32,
    pub lost: u32,
    /// converted / referred, 0 when nothing was referred; rounded to 4 decimals.
    pub conversion_rate: f64,
    /// Median days from referral to conversion, over converted referrals.
    pub median_days_to_convert: Option<f64>,
}

/// Aggregates referrals per partner. Partners without referrals in the range are listed with
/// zeros, so a dashboard shows every partner. Sorted by referred (desc), then name.
pub fn stats_by_partner(partners: &[Partner], referrals: &[Referral]) -> Vec<ReferralStats> {
    let mut by_partner: BTreeMap<&Id, Vec<&Referral>> = BTreeMap::new();
    for r in referrals {
        by_partner.entry(&r.partner_id).or_default().push(r);
    }
    let mut out: Vec<ReferralStats> = partners
        .iter()
        .map(|p| {
            let rs = by_partner.get(&p.id).map(Vec::as_slice).unwrap_or_default();
            let count = |s: ReferralStatus| rs.iter().filter(|r| r.status == s).count() as u32;
            let referred = rs.len() as u32;
            let converted = count(ReferralStatus::Converted);
            let mut days: Vec<f64> = rs
                .iter()
                .filter_map(|r| r.converted_at.map(|c| (c - r.referred_at).num_minutes() as f64 / 1440.0))
                .collect();
            days.sort_by(f64::total_cmp);
            let median = match days.len() {
                0 => None,
                n if n % 2 == 1 => Some(days[n / 2]),
                n => Some((days[n / 2 - 1] + days[n / 2]) / 2.0),
            };
            ReferralStats {
                partner_id: p.id.clone(),
                partner_name: p.name.clone(),
                partner_kind: p.kind.clone(),
                referred,
                converted,
                pending: count(ReferralStatus::Pending),
                lost: count(ReferralStatus::Lost),
                conversion_rate: if referred == 0 { 0.0 } else { round4(converted as f64 / referred as f64) },
                median_days_to_convert: median.map(|d| (d * 10.0).round() / 10.0),
            }
        })
        .collect();
    out.sort_by(|a, b| b.referred.cmp(&a.referred).then_with(|| a.partner_name.cmp(&b.partner_name)));
    out
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::IdKind;
    use chrono::TimeZone;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, 12, 0, 0).unwrap()
    }

    #[test]
    fn aggregates_conversion_per_partner() {
        let physio = Partner {
            id: Id::from_parts(IdKind::Partner, 1, [1; 10]),
            name: "Clínica Fisio Norte".into(),
            kind: "physio".into(),
            created_at: at(1),
        };
        let corp = Partner {
            id: Id::from_parts(IdKind::Partner, 2, [2; 10]),
            name: "Acme Wellness".into(),
            kind: "corporate".into(),
            created_at: at(1),
        };
        let mk = |n: u8, p: &Partner, status, conv: Option<u32>| Referral {
            id: Id::from_parts(IdKind::Referral, n as i64, [n; 10]),
            partner_id: p.id.clone(),
            referred_at: at(2),
            status,
            athlete_id: None,
            converted_at: conv.map(at),
        };
        let refs = vec![
            mk(1, &physio, ReferralStatus::Converted, Some(4)),
            mk(2, &physio, ReferralStatus::Converted, Some(12)),
            mk(3, &physio, ReferralStatus::Lost, None),
            mk(4, &physio, ReferralStatus::Pending, None),
        ];
        let stats = stats_by_partner(&[corp.clone(), physio.clone()], &refs);
        assert_eq!(stats[0].partner_id, physio.id);
        assert_eq!((stats[0].referred, stats[0].converted, stats[0].lost, stats[0].pending), (4, 2, 1, 1));
        assert_eq!(stats[0].conversion_rate, 0.5);
        assert_eq!(stats[0].median_days_to_convert, Some(6.0));
        assert_eq!(stats[1].referred, 0);
        assert_eq!(stats[1].conversion_rate, 0.0);
    }
}
