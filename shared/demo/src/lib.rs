//! Demo Gym: a deterministic, realistic demo business for the local stack, demos and tests.
//!
//! Two locations, members with names from many languages (accents, apostrophes, mixed-case
//! emails), fitness tests whose stages follow textbook physiology (lactate curves, ACSM VO2
//! equations, Cooper and 2k-row norms), and partner referrals with conversions. The same seed
//! always yields the same data, ids included.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use iron_domain::fitness_test::derive_results;
use iron_domain::{
    Athlete, AthleteSource, AthleteStatus, Business, FitnessTest, Id, IdKind, Location, Modality, Partner, Referral,
    ReferralStatus, Sex, Stage, TestType,
};
use iron_store::TenantDb;
use iron_store::repo::platform;
use iron_store::repo::{RepoResult, athletes, fitness_tests, referrals};
use iron_store::{OperatorScope, TableStore, TxOp};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};

pub mod billing;
pub mod challenges;
pub mod training;

const FEMALE: &[&str] = &[
    "María José",
    "Lucía",
    "Zoë",
    "Ingrid",
    "Siobhán",
    "Aoife",
    "Małgorzata",
    "Ngọc Anh",
    "Chloé",
    "Björk",
    "Ana Sofía",
    "Léa",
    "Amélie",
    "Fatima",
    "Priya",
    "Yuki",
    "Olga",
    "Camila",
    "Hannah",
    "Renée",
    "Noémie",
    "Agnieszka",
    "Sigríður",
    "Thảo",
    "Emma",
    "Grace",
    "Mía",
    "Inés",
    "Astrid",
    "Élodie",
];
const MALE: &[&str] = &[
    "José Luis",
    "Ángel",
    "Søren",
    "Łukasz",
    "Seán",
    "Dmitri",
    "Nguyễn Minh",
    "François",
    "Jürgen",
    "Björn",
    "Iñaki",
    "Raúl",
    "Mateo",
    "Omar",
    "Kenji",
    "Rahul",
    "Tomás",
    "Oisín",
    "Mikael",
    "Jörg",
    "Andrés",
    "Piotr",
    "Hugo",
    "Noah",
    "Liam",
    "Élie",
    "Joaquín",
    "Ståle",
    "Darragh",
    "Håkon",
];
const LAST: &[&str] = &[
    "Núñez",
    "García-López",
    "O'Brien",
    "Müller",
    "Søndergaard",
    "Kowalczyk",
    "Nguyễn",
    "Lefèvre",
    "Ibáñez",
    "Åberg",
    "Fernández",
    "Ó Súilleabháin",
    "Schröder",
    "Wiśniewski",
    "Trần",
    "Dubois",
    "Peña",
    "Lindqvist",
    "MacGregor",
    "Rossi",
    "Zapatero",
    "Björnsson",
    "Castaño",
    "Møller",
    "Kaczmarek",
    "Đặng",
    "Girard",
    "Muñoz",
    "Östberg",
    "Fitzgerald",
    "Sato",
    "Patel",
    "Haddad",
    "Ivanova",
    "Silva",
    "D'Angelo",
    "van der Berg",
    "Jiménez",
    "Ólafsdóttir",
    "Brennan",
];
const DOMAINS: &[&str] =
    &["gmail.com", "Outlook.com", "yahoo.es", "proton.me", "Hotmail.co.uk", "icloud.com", "correo.es"];

pub struct DemoSize {
    pub athletes: usize,
    /// Days of member training (check-ins, workouts, readiness, injuries); 0 for none.
    pub training_days: i64,
}

impl Default for DemoSize {
    fn default() -> Self {
        DemoSize { athletes: 200, training_days: 90 }
    }
}

#[derive(Debug, Clone)]
pub struct DemoSummary {
    pub business: Business,
    pub scope: OperatorScope,
    pub locations: Vec<Location>,
    pub athletes: usize,
    pub tests: usize,
    pub partners: usize,
    pub referrals: usize,
    pub training: training::TrainingSummary,
    pub billing: billing::BillingSummary,
    pub challenges: Vec<iron_domain::challenge::Challenge>,
}

fn id(rng: &mut StdRng, kind: IdKind, at: DateTime<Utc>) -> Id {
    let mut random = [0u8; 10];
    rng.fill_bytes(&mut random);
    Id::from_parts(kind, at.timestamp_millis(), random)
}

fn email_local(s: &str) -> String {
    iron_domain::search::fold(s)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == ' ')
        .collect::<String>()
        .replace(' ', ".")
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Seeds a complete demo business as of `now`. Deterministic for a given `seed`.
pub async fn seed(store: &dyn TableStore, now: DateTime<Utc>, size: DemoSize, seed: u64) -> RepoResult<DemoSummary> {
    let mut rng = StdRng::seed_from_u64(seed);
    // Millisecond precision, as every stored timestamp.
    let now = DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now);
    let opened = now - Duration::days(3 * 365);
    let business = Business {
        id: id(&mut rng, IdKind::Business, opened),
        name: "Demo Gym".into(),
        timezone: "Europe/Madrid".into(),
        created_at: opened,
    };
    let scope = platform::put_business(store, &business).await?;
    let mut locations = vec![
        Location::new(id(&mut rng, IdKind::Location, opened), "Demo Gym Centro", "Europe/Madrid", Some(opened)),
        Location::new(
            id(&mut rng, IdKind::Location, opened + Duration::days(400)),
            "Demo Gym Río",
            "Europe/Madrid",
            Some(opened + Duration::days(400)),
        ),
    ];
    training::equip(&mut locations);
    for loc in &locations {
        platform::put_location(TenantDb::new(store, &scope), loc).await?;
    }

    let mut members: Vec<Athlete> = Vec::with_capacity(size.athletes);
    let mut test_count = 0;
    let mut used_emails = std::collections::HashSet::new();
    for n in 0..size.athletes {
        let sex = if rng.random_bool(0.5) { Sex::Female } else { Sex::Male };
        let first = match sex {
            Sex::Female => FEMALE[rng.random_range(0..FEMALE.len())],
            _ => MALE[rng.random_range(0..MALE.len())],
        };
        let last = LAST[rng.random_range(0..LAST.len())];
        let domain = DOMAINS[rng.random_range(0..DOMAINS.len())];
        let mut local = format!("{}.{}", email_local(first), email_local(last));
        if !used_emails.insert(local.clone()) {
            local = format!("{local}{n}");
            used_emails.insert(local.clone());
        }
        // Mixed case, as people type it.
        let email =
            if n % 4 == 0 { format!("{}@{domain}", capitalise_words(&local)) } else { format!("{local}@{domain}") };
        let joined = opened + Duration::days(rng.random_range(0..(3 * 365 - 20)));
        let created_at = joined + Duration::minutes(rng.random_range(0..600));
        let updated_at = created_at + Duration::minutes(rng.random_range(0..((now - created_at).num_minutes().max(1))));
        let age = rng.random_range(18..66);
        let birth = NaiveDate::from_ymd_opt(now.year() - age, rng.random_range(1..13), rng.random_range(1..29))
            .unwrap_or_default();
        // Leap-day birthdays exist and must survive every layer.
        let birth = if n == 7 { NaiveDate::from_ymd_opt(1996, 2, 29).unwrap_or(birth) } else { birth };
        let athlete = Athlete {
            id: id(&mut rng, IdKind::Athlete, created_at),
            external_id: Some(format!("DG-{:05}", 1000 + n)),
            source: AthleteSource::Demo,
            first_name: first.into(),
            last_name: last.into(),
            email: Some(email),
            phone: Some(format!(
                "+34 6{:02} {:03} {:03}",
                rng.random_range(0..100),
                rng.random_range(0..1000),
                rng.random_range(0..1000)
            )),
            birth_date: Some(birth),
            sex,
            status: match rng.random_range(0..20) {
                0..=15 => AthleteStatus::Active,
                16..=18 => AthleteStatus::Inactive,
                _ => AthleteStatus::Prospect,
            },
            location_id: Some(locations[if rng.random_bool(0.6) { 0 } else { 1 }].id.clone()),
            joined_on: Some(joined.date_naive()),
            created_at,
            updated_at,
        };
        let mut ops = athletes::create_ops(&scope, &athlete);
        let tests = generate_tests(&mut rng, &athlete, age, now);
        test_count += tests.len();
        for t in &tests {
            // The athlete is created in this very transaction: skip the existence check.
            ops.extend(fitness_tests::create_ops(&scope, t).into_iter().filter(|op| !matches!(op, TxOp::Check { .. })));
        }
        store.transact(ops).await?;
        members.push(athlete);
    }

    let partner_specs: [(&str, &str, f64, usize); 5] = [
        ("Fisioterapia Núñez", "physio", 0.55, 38),
        ("Nordic Physio Clinic", "physio", 0.42, 24),
        ("Acme Corp Wellness", "corporate", 0.28, 46),
        ("Member referrals", "member", 0.61, 31),
        ("@coach.zoë (Instagram)", "influencer", 0.12, 17),
    ];
    let mut referral_count = 0;
    for (name, kind, rate, count) in partner_specs {
        let created = opened + Duration::days(rng.random_range(0..200));
        let partner = Partner {
            id: id(&mut rng, IdKind::Partner, created),
            name: name.into(),
            kind: kind.into(),
            created_at: created,
        };
        let mut ops = vec![referrals::create_partner_op(&scope, &partner)];
        for _ in 0..count {
            let referred_at = now - Duration::minutes(rng.random_range(60..(365 * 24 * 60)));
            let converted = rng.random_bool(rate);
            let converted_at =
                converted.then(|| (referred_at + Duration::hours(rng.random_range(6..(45 * 24)))).min(now));
            let status = if converted {
                ReferralStatus::Converted
            } else if (now - referred_at).num_days() > 30 {
                ReferralStatus::Lost
            } else {
                ReferralStatus::Pending
            };
            let referral = Referral {
                id: id(&mut rng, IdKind::Referral, referred_at),
                partner_id: partner.id.clone(),
                referred_at,
                status,
                athlete_id: converted
                    .then(|| members[rng.random_range(0..members.len().max(1)) % members.len().max(1)].id.clone()),
                converted_at,
            };
            ops.push(referrals::create_referral_op(&scope, &referral));
        }
        referral_count += count;
        for chunk in ops.chunks(100) {
            store.transact(chunk.to_vec()).await?;
        }
    }
    // Its own generator, so the members, tests and referrals above stay what they were.
    let mut training_rng = StdRng::seed_from_u64(seed ^ 0x7261_696e);
    let training = if size.training_days > 0 {
        training::seed(store, &scope, &members, &locations, now, size.training_days, &mut training_rng).await?
    } else {
        training::TrainingSummary::default()
    };
    let mut billing_rng = StdRng::seed_from_u64(seed ^ 0x6269_6c6c);
    let billing =
        billing::seed(TenantDb::new(store, &scope), &business, &members, &locations, now, &mut billing_rng).await?;
    let mut challenge_rng = StdRng::seed_from_u64(seed ^ 0x6368_616c);
    let challenges = challenges::seed(store, &scope, &members, &business.timezone, now, &mut challenge_rng).await?;
    let _ = platform::get_business(TenantDb::new(store, &scope)).await?;
    Ok(DemoSummary {
        challenges,
        training,
        billing,
        business,
        scope,
        locations,
        athletes: members.len(),
        tests: test_count,
        partners: partner_specs.len(),
        referrals: referral_count,
    })
}

fn capitalise_words(s: &str) -> String {
    s.split('.')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// 0–6 tests over the member's time at the gym, fitness improving a little with each.
fn generate_tests(rng: &mut StdRng, a: &Athlete, age: i32, now: DateTime<Utc>) -> Vec<FitnessTest> {
    let n = rng.random_range(0..=6);
    let female = a.sex == Sex::Female;
    let mass: f64 = if female { rng.random_range(52.0..82.0) } else { rng.random_range(64.0..102.0) };
    let base_fitness: f64 = rng.random_range(0.7..1.3);
    let hr_max = (208.0 - 0.7 * age as f64).round();
    let span = (now - a.created_at).num_minutes().max(60 * 24);
    let mut times: Vec<DateTime<Utc>> =
        (0..n).map(|_| a.created_at + Duration::minutes(rng.random_range(0..span))).collect();
    times.sort();
    // One test per athlete and minute: a test's natural key is (athlete, type, time).
    for i in 1..times.len() {
        if times[i] <= times[i - 1] {
            times[i] = times[i - 1] + Duration::minutes(1);
        }
    }
    times
        .into_iter()
        .enumerate()
        .map(|(i, performed_at)| {
            let fitness = base_fitness * (1.0 + 0.03 * i as f64) * if female { 0.85 } else { 1.0 };
            let test_type = match rng.random_range(0..100) {
                0..=44 => TestType::LactateStep,
                45..=69 => TestType::Vo2maxRamp,
                70..=84 => TestType::Cooper12min,
                _ => TestType::Row2k,
            };
            let modality = match test_type {
                TestType::LactateStep | TestType::Vo2maxRamp => {
                    if rng.random_bool(0.6) {
                        Modality::Cycling
                    } else {
                        Modality::Running
                    }
                }
                TestType::Cooper12min => Modality::Running,
                TestType::Row2k => Modality::Rowing,
            };
            let stages = match test_type {
                TestType::LactateStep => {
                    let with_gas = rng.random_bool(0.5);
                    lactate_stages(rng, modality, mass, fitness, hr_max, with_gas)
                }
                TestType::Vo2maxRamp => ramp_stages(rng, modality, mass, fitness, hr_max),
                TestType::Cooper12min => vec![Stage {
                    number: 1,
                    duration_s: 720,
                    distance_m: Some((1700.0 + 1100.0 * fitness + rng.random_range(-80.0..80.0)).round()),
                    heart_rate_bpm: Some((hr_max * 0.95) as u16),
                    rpe: Some(rng.random_range(16..20)),
                    ..empty_stage()
                }],
                TestType::Row2k => {
                    let time = (480.0 / fitness.powf(0.35) + rng.random_range(-5.0..5.0)).round();
                    let pace = time / 2000.0;
                    vec![Stage {
                        number: 1,
                        duration_s: time as u32,
                        distance_m: Some(2000.0),
                        power_w: Some((2.8 / pace.powi(3)).round()),
                        heart_rate_bpm: Some((hr_max * 0.97) as u16),
                        rpe: Some(19),
                        ..empty_stage()
                    }]
                }
            };
            let body_mass_kg = Some(round1(mass - 0.3 * i as f64));
            let results = derive_results(test_type, modality, body_mass_kg, &stages);
            FitnessTest {
                id: id(rng, IdKind::Test, performed_at),
                athlete_id: a.id.clone(),
                test_type,
                modality,
                performed_at,
                location_id: a.location_id.clone(),
                body_mass_kg,
                stages,
                results,
                notes: (rng.random_range(0..5) == 0).then(|| "Buen test; sin molestias. Retest in 8 weeks.".to_owned()),
                created_at: performed_at + Duration::minutes(45),
                updated_at: performed_at + Duration::minutes(45),
            }
        })
        .collect()
}

fn empty_stage() -> Stage {
    Stage {
        number: 1,
        duration_s: 0,
        power_w: None,
        speed_kmh: None,
        incline_pct: None,
        distance_m: None,
        heart_rate_bpm: None,
        lactate_mmol: None,
        vo2_ml_kg_min: None,
        rer: None,
        rpe: None,
    }
}

/// Step test: 4-min (bike) or 3-min (run) stages until lactate passes ~7 mmol/L.
fn lactate_stages(
    rng: &mut StdRng,
    modality: Modality,
    mass: f64,
    fitness: f64,
    hr_max: f64,
    with_gas: bool,
) -> Vec<Stage> {
    let (start, step, duration, lt2) = match modality {
        Modality::Running => (7.0, 1.0, 180, 11.5 * fitness),
        _ => (((1.2 * mass) / 25.0).round() * 25.0, 25.0, 240, 3.2 * fitness * mass),
    };
    let peak = lt2 * 1.25;
    let base: f64 = rng.random_range(0.8..1.4);
    let mut out = Vec::new();
    let mut load = start;
    for number in 1..=14u16 {
        let lactate = base + (4.0 - base) * ((load - lt2) / (lt2 * 0.11)).exp();
        let lactate = round1(lactate.clamp(base, 14.0) + rng.random_range(-0.1..0.1)).max(0.5);
        let hr = (65.0 + (hr_max - 65.0) * (load / peak).clamp(0.0, 1.0).powf(0.85)).round() as u16;
        let vo2 = with_gas.then(|| match modality {
            Modality::Running => round1(3.5 + 0.2 * load * 1000.0 / 60.0),
            _ => round1(7.0 + 10.8 * load / mass),
        });
        out.push(Stage {
            number,
            duration_s: duration,
            power_w: (modality != Modality::Running).then_some(load),
            speed_kmh: (modality == Modality::Running).then_some(load),
            incline_pct: (modality == Modality::Running).then_some(1.0),
            heart_rate_bpm: Some(hr),
            lactate_mmol: Some(lactate),
            vo2_ml_kg_min: vo2,
            rer: with_gas.then(|| round1(0.8 + 0.3 * (load / peak).min(1.1))),
            rpe: Some((6.0 + 14.0 * (load / peak).min(1.0)).round() as u8),
            ..empty_stage()
        });
        if lactate > 7.0 {
            break;
        }
        load += step;
    }
    out
}

/// Ramp test: 1-min stages to exhaustion, VO2 plateauing at the top.
fn ramp_stages(rng: &mut StdRng, modality: Modality, mass: f64, fitness: f64, hr_max: f64) -> Vec<Stage> {
    let (start, step, peak) = match modality {
        Modality::Running => (8.0, 0.5, 15.5 * fitness),
        _ => (100.0, 25.0, 4.2 * fitness * mass),
    };
    let vo2max = match modality {
        Modality::Running => 3.5 + 0.2 * peak * 1000.0 / 60.0,
        _ => 7.0 + 10.8 * peak / mass,
    };
    let mut out = Vec::new();
    let mut load = start;
    let mut number = 1u16;
    while load <= peak + 0.01 && number <= 40 {
        let expected = match modality {
            Modality::Running => 3.5 + 0.2 * load * 1000.0 / 60.0,
            _ => 7.0 + 10.8 * load / mass,
        };
        let vo2 = round1(expected.min(vo2max * (0.98 + 0.02 * rng.random::<f64>())));
        out.push(Stage {
            number,
            duration_s: 60,
            power_w: (modality != Modality::Running).then_some(load),
            speed_kmh: (modality == Modality::Running).then_some(load),
            incline_pct: (modality == Modality::Running).then_some(1.0),
            heart_rate_bpm: Some((70.0 + (hr_max - 70.0) * (load / peak).min(1.0)).round() as u16),
            vo2_ml_kg_min: Some(vo2),
            rer: Some(round1(0.82 + 0.35 * (load / peak).min(1.0))),
            rpe: Some((7.0 + 13.0 * (load / peak).min(1.0)).round() as u8),
            ..empty_stage()
        });
        load += step;
        number += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use iron_store::{ManualClock, SqliteTable};
    use std::sync::Arc;

    #[tokio::test]
    async fn seeds_a_realistic_deterministic_business() {
        let now = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z").unwrap().with_timezone(&Utc);
        let store = SqliteTable::in_memory(Arc::new(ManualClock::new(now))).unwrap();
        let summary = seed(&store, now, DemoSize::default(), 7).await.unwrap();
        assert_eq!(summary.athletes, 200);
        assert!((450..=750).contains(&summary.tests), "about 600 tests, got {}", summary.tests);
        assert_eq!(summary.partners, 5);
        let other = SqliteTable::in_memory(Arc::new(ManualClock::new(now))).unwrap();
        let again = seed(&other, now, DemoSize::default(), 7).await.unwrap();
        assert_eq!(again.business.id, summary.business.id, "same seed, same ids");
        assert_eq!(again.tests, summary.tests);
        let stats = referrals::stats(TenantDb::new(&store, &summary.scope), None, None).await.unwrap();
        assert_eq!(stats.iter().map(|s| s.referred).sum::<u32>() as usize, summary.referrals);
        assert!(stats.iter().all(|s| s.conversion_rate <= 1.0));
    }
}
