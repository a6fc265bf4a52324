//! The operator CLI's commands, as a library so tests drive it without a subprocess.

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use iron_domain::{Id, IdKind, RateTier, Scope};
use iron_store::TenantDb;
use iron_store::repo::platform::{self, NewKey};
use iron_store::{Clock, OperatorScope, SqliteTable, SystemClock, TableStore};
use std::ffi::OsString;
use std::fmt::Write;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(name = "iron-admin", about = "Operate Iron Metrics: businesses and API keys", version)]
pub struct Cli {
    /// Where the data lives.
    #[arg(long, env = "IRON_BACKEND", value_enum, default_value_t = Backend::Embedded)]
    pub backend: Backend,
    /// Embedded backend: the local stack's data dir.
    #[arg(long, env = "IRON_DATA_DIR", default_value = ".iron-data")]
    pub data_dir: PathBuf,
    /// DynamoDB backend: the table (region, credentials and AWS_ENDPOINT_URL come from the usual AWS environment).
    #[arg(long, env = "TABLE_NAME")]
    pub table: Option<String>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Backend {
    Embedded,
    Dynamodb,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create the DynamoDB table with its indexes and TTL (for emulators; on AWS the SAM stack owns it).
    InitTable,
    /// Businesses (tenants).
    #[command(subcommand)]
    Business(BusinessCommand),
    /// API keys of a business.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Seed the Demo Gym (200 athletes, ~600 tests, referrals) into the backend.
    SeedDemo,
}

#[derive(Subcommand, Debug)]
pub enum BusinessCommand {
    Create {
        #[arg(long)]
        name: String,
        /// IANA time zone.
        #[arg(long, default_value = "UTC")]
        timezone: String,
    },
    List,
    /// Move every key of the business to a rate-limit tier; the next request sees it.
    SetTier {
        #[arg(long)]
        business: String,
        #[arg(long)]
        tier: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Mint a key; its secret is printed once, on a line `API key: bak_…`.
    Mint {
        #[arg(long)]
        business: String,
        #[arg(long)]
        name: String,
        /// Comma-separated scopes, or `all`.
        #[arg(long, default_value = "read:athletes,read:tests,read:analytics")]
        scopes: String,
        #[arg(long, default_value = "standard")]
        tier: String,
        /// RFC 3339 expiry.
        #[arg(long)]
        expires_at: Option<String>,
        /// Comma-separated IP addresses / CIDR ranges the key may be used from.
        #[arg(long)]
        allowed_ips: Option<String>,
    },
    List {
        #[arg(long)]
        business: String,
    },
    Revoke {
        #[arg(long)]
        business: String,
        #[arg(long)]
        key: String,
    },
    /// Issue a replacement key; the old one keeps working for the grace period (default 24 h, max 720 h).
    Rotate {
        #[arg(long)]
        business: String,
        #[arg(long)]
        key: String,
        #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(0..=720))]
        grace_hours: u32,
    },
    /// Change a key's rate-limit tier; the next request sees it.
    SetTier {
        #[arg(long)]
        business: String,
        #[arg(long)]
        key: String,
        #[arg(long)]
        tier: String,
    },
}

async fn open_store(cli: &Cli, clock: Arc<dyn Clock>) -> Result<Arc<dyn TableStore>, String> {
    match cli.backend {
        Backend::Embedded => {
            std::fs::create_dir_all(&cli.data_dir).map_err(|e| format!("{}: {e}", cli.data_dir.display()))?;
            Ok(Arc::new(SqliteTable::open(&cli.data_dir.join("table.db"), clock).map_err(|e| e.to_string())?))
        }
        Backend::Dynamodb => {
            let table = cli.table.clone().ok_or("the dynamodb backend needs --table or TABLE_NAME")?;
            let config = iron_aws::load_config().await;
            Ok(Arc::new(iron_aws::DynamoTable::new(aws_sdk_dynamodb::Client::new(&config), table, clock)))
        }
    }
}

fn business_scope(raw: &str) -> Result<OperatorScope, String> {
    Id::parse_kind(IdKind::Business, raw)
        .map(OperatorScope::new)
        .ok_or_else(|| format!("`{raw}` is not a business id (biz_…)"))
}

fn parse_scopes(raw: &str) -> Result<Vec<Scope>, String> {
    if raw.trim() == "all" {
        return Ok(Scope::ALL.to_vec());
    }
    raw.split(',').map(|s| s.trim().parse::<Scope>()).collect()
}

/// Runs one command; returns what to print.
pub async fn run<I, T>(args: I) -> Result<String, String>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = Cli::try_parse_from(args).map_err(|e| e.to_string())?;
    run_with_clock(cli, Arc::new(SystemClock)).await
}

pub async fn run_with_clock(cli: Cli, clock: Arc<dyn Clock>) -> Result<String, String> {
    let now = clock.now();
    let mut out = String::new();
    if let Command::InitTable = cli.command {
        let table = cli.table.clone().ok_or("init-table needs --backend dynamodb and --table")?;
        let config = iron_aws::load_config().await;
        iron_aws::DynamoTable::create_table(&aws_sdk_dynamodb::Client::new(&config), &table)
            .await
            .map_err(|e| e.to_string())?;
        let _ = writeln!(out, "table {table} is ready");
        return Ok(out);
    }
    let store = open_store(&cli, clock).await?;
    let store = store.as_ref();
    let err = |e: iron_store::repo::RepoError| match e {
        iron_store::repo::RepoError::NotFound => "not found (check the business and key ids)".to_owned(),
        other => other.to_string(),
    };
    match cli.command {
        Command::InitTable => unreachable!("handled above"),
        Command::SeedDemo => {
            let summary =
                iron_demo::seed(store, now, iron_demo::DemoSize::default(), rand_seed()).await.map_err(err)?;
            let _ = writeln!(
                out,
                "seeded {} ({}): {} athletes, {} tests, {} partners, {} referrals",
                summary.business.name,
                summary.business.id,
                summary.athletes,
                summary.tests,
                summary.partners,
                summary.referrals
            );
        }
        Command::Business(BusinessCommand::Create { name, timezone }) => {
            let (business, _) = platform::create_business(store, &name, &timezone, now).await.map_err(err)?;
            if cli.json {
                let _ = writeln!(out, "{}", serde_json::to_string(&business).unwrap_or_default());
            } else {
                let _ = writeln!(out, "created business {} ({})", business.name, business.id);
            }
        }
        Command::Business(BusinessCommand::List) => {
            let all = platform::list_businesses(store).await.map_err(err)?;
            if cli.json {
                let _ = writeln!(out, "{}", serde_json::to_string(&all).unwrap_or_default());
            } else {
                for b in all {
                    let _ = writeln!(out, "{}\t{}\t{}\t{}", b.id, b.name, b.timezone, b.created_at.to_rfc3339());
                }
            }
        }
        Command::Business(BusinessCommand::SetTier { business, tier }) => {
            let scope = business_scope(&business)?;
            let db = TenantDb::new(store, &scope);
            let tier: RateTier = tier.parse()?;
            let keys = platform::list_keys(db).await.map_err(err)?;
            for key in &keys {
                platform::set_tier(db, &key.id, tier).await.map_err(err)?;
            }
            let _ = writeln!(out, "business {business}: {} key(s) now on the {} tier", keys.len(), tier.as_str());
        }
        Command::Key(KeyCommand::Mint { business, name, scopes, tier, expires_at, allowed_ips }) => {
            let allowed_ips = match allowed_ips {
                None => Vec::new(),
                Some(list) => list
                    .split(',')
                    .map(|raw| {
                        let raw = raw.trim();
                        raw.parse::<ipnet::IpNet>()
                            .or_else(|_| raw.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                            .map_err(|_| format!("--allowed-ips: `{raw}` is not an IP address or CIDR range"))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            };
            let scope = business_scope(&business)?;
            let scopes = parse_scopes(&scopes)?;
            let tier: RateTier = tier.parse()?;
            let expires_at = match expires_at {
                Some(raw) => Some(
                    DateTime::parse_from_rfc3339(&raw)
                        .map_err(|_| format!("--expires-at `{raw}` is not RFC 3339"))?
                        .with_timezone(&Utc),
                ),
                None => None,
            };
            if expires_at.is_some_and(|at| at <= now) {
                return Err("--expires-at is in the past".into());
            }
            let (key, secret) = platform::mint_key(
                TenantDb::new(store, &scope),
                NewKey { expires_at, allowed_ips, ..NewKey::new(&name, scopes, tier) },
                now,
            )
            .await
            .map_err(err)?;
            if cli.json {
                let mut v = serde_json::to_value(&key).unwrap_or_default();
                v["secret"] = serde_json::Value::String(secret.expose().to_owned());
                let _ = writeln!(out, "{v}");
            } else {
                let scopes: Vec<_> = key.scopes.iter().map(|s| s.as_str()).collect();
                let _ = writeln!(
                    out,
                    "minted key {} for {} (tier {}, scopes {})",
                    key.id,
                    key.business_id,
                    key.tier.as_str(),
                    scopes.join(",")
                );
                let _ = writeln!(out, "This secret is shown once; store it now.");
                let _ = writeln!(out, "API key: {}", secret.expose());
            }
        }
        Command::Key(KeyCommand::List { business }) => {
            let scope = business_scope(&business)?;
            let db = TenantDb::new(store, &scope);
            let keys = platform::list_keys(db).await.map_err(err)?;
            let used = platform::last_used(db).await.map_err(err)?;
            if cli.json {
                let _ = writeln!(out, "{}", serde_json::to_string(&keys).unwrap_or_default());
            } else {
                for k in keys {
                    let scopes: Vec<_> = k.scopes.iter().map(|s| s.as_str()).collect();
                    let status = if k.is_usable(now) {
                        "active"
                    } else if k.status == iron_domain::ApiKeyStatus::Revoked {
                        "revoked"
                    } else {
                        "expired"
                    };
                    let _ = writeln!(
                        out,
                        "{}\t{}…\t{}\t{}\t{}\t{}\texpires {}\tlast used {}",
                        k.id,
                        k.prefix,
                        k.name,
                        status,
                        k.tier.as_str(),
                        scopes.join(","),
                        k.expires_at.map_or("never".to_owned(), |t| t.to_rfc3339()),
                        used.get(&k.id).map_or("never".to_owned(), |t| t.to_rfc3339())
                    );
                }
            }
        }
        Command::Key(KeyCommand::Rotate { business, key, grace_hours }) => {
            let id = Id::parse_kind(IdKind::ApiKey, &key).ok_or_else(|| format!("`{key}` is not a key id (key_…)"))?;
            let grace = chrono::Duration::hours(i64::from(grace_hours));
            let (new, secret, old) =
                platform::rotate_key(TenantDb::new(store, &*business_scope(&business)?), &id, grace, now)
                    .await
                    .map_err(err)?;
            let until = old.expires_at.map(|t| t.to_rfc3339()).unwrap_or_default();
            let _ = writeln!(out, "rotated key {} into {}; the old key works until {until}", old.id, new.id);
            let _ = writeln!(out, "This secret is shown once; store it now.");
            let _ = writeln!(out, "API key: {}", secret.expose());
        }
        Command::Key(KeyCommand::Revoke { business, key }) => {
            let id = Id::parse_kind(IdKind::ApiKey, &key).ok_or_else(|| format!("`{key}` is not a key id (key_…)"))?;
            let key = platform::revoke_key(TenantDb::new(store, &*business_scope(&business)?), &id, now)
                .await
                .map_err(err)?;
            let _ = writeln!(out, "revoked key {} ({}); it stops working at once", key.id, key.prefix);
        }
        Command::Key(KeyCommand::SetTier { business, key, tier }) => {
            let id = Id::parse_kind(IdKind::ApiKey, &key).ok_or_else(|| format!("`{key}` is not a key id (key_…)"))?;
            let tier: RateTier = tier.parse()?;
            let key =
                platform::set_tier(TenantDb::new(store, &*business_scope(&business)?), &id, tier).await.map_err(err)?;
            let _ = writeln!(out, "key {} is now on the {} tier", key.id, key.tier.as_str());
        }
    }
    Ok(out)
}

fn rand_seed() -> u64 {
    SystemClock.now().timestamp_nanos_opt().unwrap_or_default() as u64
}
