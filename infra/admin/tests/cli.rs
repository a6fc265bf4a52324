//! The operator CLI, run as a subprocess, on both backends; the keys it mints work (and stop
//! working once revoked) against the API over the same storage.

use axum::body::Body;
use axum::http::Request;
use iron_http::ApiContext;
use iron_store::{SqliteTable, SystemClock, TableStore};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use tower::ServiceExt;

fn admin(envs: &[(&str, &str)], args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_iron-admin"))
        .envs(envs.iter().copied())
        .args(args)
        .output()
        .expect("run iron-admin");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn field<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.split_whitespace()
        .map(|w| w.trim_matches(|c| c == '(' || c == ')' || c == ';'))
        .find(|w| w.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix} in {text}"))
}

async fn status_with(store: Arc<dyn TableStore>, key: &str) -> u16 {
    let router = iron_http::into_app(iron_athletes_api::routes(ApiContext::new(store, Arc::new(SystemClock))));
    let req = Request::get("/api/external/v1/athletes?limit=1")
        .header("authorization", format!("Bearer {key}"))
        .body(Body::empty())
        .unwrap();
    router.oneshot(req).await.unwrap().status().as_u16()
}

async fn lifecycle(envs: &[(&str, &str)], open: impl Fn() -> Arc<dyn TableStore>) {
    let (ok, out, err) = admin(
        envs,
        &["business", "create", "--name", "CrossFit Ñandú", "--timezone", "America/Argentina/Buenos_Aires"],
    );
    assert!(ok, "{err}");
    let business = field(&out, "biz_").to_owned();
    let (ok, out, _) = admin(envs, &["business", "list"]);
    assert!(ok && out.contains(&business) && out.contains("CrossFit Ñandú"));

    let (ok, out, err) = admin(
        envs,
        &[
            "key",
            "mint",
            "--business",
            &business,
            "--name",
            "Zapier",
            "--scopes",
            "read:athletes",
            "--tier",
            "professional",
        ],
    );
    assert!(ok, "{err}");
    let secret = out.lines().find_map(|l| l.strip_prefix("API key: ")).expect("the key on its own line").to_owned();
    assert!(secret.starts_with("bak_") && secret.len() == 68);
    let key_id = field(&out, "key_").to_owned();
    assert_eq!(status_with(open(), &secret).await, 200);

    let (ok, out, _) = admin(envs, &["key", "list", "--business", &business]);
    assert!(ok && out.contains(&key_id) && out.contains("professional") && out.contains(&secret[..12]));
    assert!(!out.contains(&secret), "the secret is never shown again");

    let (ok, _, err) =
        admin(envs, &["key", "set-tier", "--business", &business, "--key", &key_id, "--tier", "standard"]);
    assert!(ok, "{err}");
    let (ok, out, err) = admin(envs, &["business", "set-tier", "--business", &business, "--tier", "enterprise"]);
    assert!(ok && out.contains("1 key(s)"), "{err}");
    let (_, out, _) = admin(envs, &["key", "list", "--business", &business]);
    assert!(out.contains("enterprise"), "{out}");
    // Rotation: a new secret now, the old one until the grace deadline.
    let (ok, out, err) =
        admin(envs, &["key", "rotate", "--business", &business, "--key", &key_id, "--grace-hours", "48"]);
    assert!(ok, "{err}");
    let rotated = out.lines().find_map(|l| l.strip_prefix("API key: ")).unwrap().to_owned();
    assert_eq!(status_with(open(), &rotated).await, 200);
    assert_eq!(status_with(open(), &secret).await, 200, "the old key works during the grace period");
    let (_, out, _) = admin(envs, &["key", "list", "--business", &business]);
    assert!(out.contains("expires 20"), "{out}");
    let (ok, _, err) =
        admin(envs, &["key", "rotate", "--business", &business, "--key", &key_id, "--grace-hours", "721"]);
    assert!(!ok && err.contains("721"), "{err}");
    let (ok, out, err) = admin(
        envs,
        &["key", "mint", "--business", &business, "--name", "office", "--allowed-ips", "203.0.113.0/24, 2001:db8::1"],
    );
    assert!(ok, "{err}");
    let office = out.lines().find_map(|l| l.strip_prefix("API key: ")).unwrap().to_owned();
    assert_eq!(status_with(open(), &office).await, 403, "no client IP in this test: outside the allowlist");
    let (ok, _, err) =
        admin(envs, &["key", "mint", "--business", &business, "--name", "x", "--allowed-ips", "10.0.0.300"]);
    assert!(!ok && err.contains("10.0.0.300"), "{err}");
    let (ok, _, err) = admin(envs, &["key", "revoke", "--business", &business, "--key", &key_id]);
    assert!(ok, "{err}");
    assert_eq!(status_with(open(), &secret).await, 401);
    let (_, out, _) = admin(envs, &["key", "list", "--business", &business]);
    assert!(out.contains("revoked"));

    // Mistakes are explained, with a non-zero exit.
    let (ok, _, err) = admin(envs, &["key", "mint", "--business", "biz_nope", "--name", "x"]);
    assert!(!ok && err.contains("business id"));
    let (ok, _, err) =
        admin(envs, &["key", "mint", "--business", &business, "--name", "x", "--scopes", "read:everything"]);
    assert!(!ok && err.contains("unknown scope"));
    let (ok, _, err) = admin(envs, &["key", "mint", "--business", "biz_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7", "--name", "x"]);
    assert!(!ok && err.contains("not found"), "{err}");
}

#[tokio::test]
async fn embedded_backend() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap().to_owned();
    let path = Path::new(&data).join("table.db");
    lifecycle(&[("IRON_BACKEND", "embedded"), ("IRON_DATA_DIR", &data)], || {
        Arc::new(SqliteTable::open(&path, Arc::new(SystemClock)).unwrap())
    })
    .await;
}

#[tokio::test]
async fn dynamodb_backend() {
    let endpoint = iron_aws::moto::endpoint();
    let table = iron_aws::moto::unique_name("iron-admin");
    let envs = [
        ("IRON_BACKEND", "dynamodb"),
        ("TABLE_NAME", table.as_str()),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
    ];
    let (ok, out, err) = admin(&envs, &["init-table"]);
    assert!(ok, "{err}");
    assert!(out.contains("ready"));
    let config = iron_aws::emulator_config(&endpoint).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    lifecycle(&envs, || Arc::new(iron_aws::DynamoTable::new(client.clone(), table.clone(), Arc::new(SystemClock))))
        .await;
}
