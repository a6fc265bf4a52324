//! The DynamoDB table store. Items map one-to-one onto DynamoDB items (JSON numbers → `N`,
//! objects → `M`, arrays → `L`). TTL is enforced on read with the injected clock, since
//! DynamoDB deletes expired items only eventually.

use crate::sdk_error;
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, KeysAndAttributes, Projection, ProjectionType, Put, ReturnValue, ScalarAttributeType,
    TimeToLiveSpecification, TransactWriteItem, Update,
};
use iron_store::item::{self, Cursor, Filter, Index, Item, Key, Page, Query, SkCondition, is_expired};
use iron_store::table::{StoreResult, check_batch as validate_batch, validate_transaction};
use iron_store::{Clock, Condition, StoreError, TableStore, TxOp};
use serde_json::{Map, Number, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

pub struct DynamoTable {
    client: Client,
    table: String,
    clock: Arc<dyn Clock>,
}

pub fn to_attr(value: &Value) -> AttributeValue {
    match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Array(a) => AttributeValue::L(a.iter().map(to_attr).collect()),
        Value::Object(m) => AttributeValue::M(m.iter().map(|(k, v)| (k.clone(), to_attr(v))).collect()),
    }
}

pub fn from_attr(attr: &AttributeValue) -> Value {
    match attr {
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::N(n) => n
            .parse::<i64>()
            .map(Value::from)
            .ok()
            .or_else(|| n.parse::<f64>().ok().and_then(Number::from_f64).map(Value::Number))
            .unwrap_or_else(|| Value::String(n.clone())),
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::L(l) => Value::Array(l.iter().map(from_attr).collect()),
        AttributeValue::M(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), from_attr(v))).collect()),
        AttributeValue::Ss(s) => Value::Array(s.iter().cloned().map(Value::String).collect()),
        AttributeValue::Ns(s) => Value::Array(s.iter().map(|n| from_attr(&AttributeValue::N(n.clone()))).collect()),
        _ => Value::Null,
    }
}

fn to_item(item: &Item) -> HashMap<String, AttributeValue> {
    item.iter().map(|(k, v)| (k.clone(), to_attr(v))).collect()
}

fn from_item(item: &HashMap<String, AttributeValue>) -> Item {
    item.iter().map(|(k, v)| (k.clone(), from_attr(v))).collect::<Map<_, _>>()
}

fn key_attrs(key: &Key) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (item::PK.to_owned(), AttributeValue::S(key.pk.clone())),
        (item::SK.to_owned(), AttributeValue::S(key.sk.clone())),
    ])
}

/// A condition expression with its placeholders.
#[derive(Default)]
struct Expr {
    text: String,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expr {
    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }
    fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// Translates a port condition; "live" means present and not past its TTL.
fn condition_expr(condition: &Condition, now: i64) -> Option<Expr> {
    let mut e = Expr::default();
    e.names.insert("#ttl".into(), item::TTL.into());
    e.values.insert(":now".into(), AttributeValue::N(now.to_string()));
    let live = "(attribute_exists(PK) AND (attribute_not_exists(#ttl) OR #ttl > :now))";
    e.text = match condition {
        Condition::None => return None,
        Condition::NotExists => "(attribute_not_exists(PK) OR #ttl <= :now)".into(),
        Condition::Exists => live.into(),
        Condition::AttrEquals(attr, value) => {
            e.names.insert("#ca".into(), attr.clone());
            e.values.insert(":cv".into(), to_attr(value));
            format!("{live} AND #ca = :cv")
        }
    };
    Some(e)
}

fn is_conditional_failure<E: ProvideErrorMetadata>(
    err: &aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> bool {
    err.code() == Some("ConditionalCheckFailedException")
}

impl DynamoTable {
    pub fn new(client: Client, table: impl Into<String>, clock: Arc<dyn Clock>) -> DynamoTable {
        DynamoTable { client, table: table.into(), clock }
    }

    fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }

    /// Creates the table as `template.yaml` declares it (for emulators and the CLI's `init-table`).
    pub async fn create_table(client: &Client, table: &str) -> StoreResult<()> {
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("complete")
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder().attribute_name(name).key_type(kind).build().expect("complete")
        };
        let gsi = |name: &str, pk: &str, sk: &str| {
            GlobalSecondaryIndex::builder()
                .index_name(name)
                .key_schema(key(pk, KeyType::Hash))
                .key_schema(key(sk, KeyType::Range))
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .expect("complete")
        };
        let result = client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .set_attribute_definitions(Some(["PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK"].map(attr).to_vec()))
            .key_schema(key("PK", KeyType::Hash))
            .key_schema(key("SK", KeyType::Range))
            .global_secondary_indexes(gsi("GSI1", "GSI1PK", "GSI1SK"))
            .global_secondary_indexes(gsi("GSI2", "GSI2PK", "GSI2SK"))
            .send()
            .await;
        match result {
            Ok(_) => {}
            Err(e) if e.code() == Some("ResourceInUseException") => return Ok(()),
            Err(e) => return Err(sdk_error(e)),
        }
        client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder().enabled(true).attribute_name(item::TTL).build().expect("complete"),
            )
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    async fn raw_get(&self, key: &Key) -> StoreResult<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out.item().map(from_item))
    }
}

#[async_trait]
impl TableStore for DynamoTable {
    async fn get(&self, key: &Key) -> StoreResult<Option<Item>> {
        let now = self.now();
        Ok(self.raw_get(key).await?.filter(|i| !is_expired(i, now)))
    }

    /// `BatchGetItem` with strongly consistent reads; keys DynamoDB leaves unprocessed (over
    /// its 16 MB answer or throttled) are asked for again, with a growing pause.
    async fn get_many(&self, keys: &[Key]) -> StoreResult<Vec<Option<Item>>> {
        validate_batch(keys)?;
        let now = self.now();
        let mut found: HashMap<Key, Item> = HashMap::new();
        let mut pending: Vec<HashMap<String, AttributeValue>> = keys.iter().map(key_attrs).collect();
        let mut attempt = 0u32;
        while !pending.is_empty() {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::Invalid(e.to_string()))?;
            let out =
                self.client.batch_get_item().request_items(&self.table, request).send().await.map_err(sdk_error)?;
            for raw in out.responses().and_then(|r| r.get(&self.table)).into_iter().flatten() {
                let item = from_item(raw);
                if let Some(key) = Key::of(&item) {
                    found.insert(key, item);
                }
            }
            if let Some(left) = out.unprocessed_keys().and_then(|u| u.get(&self.table)) {
                pending = left.keys().to_vec();
            }
            if !pending.is_empty() {
                attempt += 1;
                if attempt > 8 {
                    return Err(StoreError::Throttled);
                }
                let jitter = rand::random::<u64>() % 20;
                tokio::time::sleep(Duration::from_millis(10 * 2u64.pow(attempt.min(6)) + jitter)).await;
            }
        }
        Ok(keys.iter().map(|k| found.remove(k).filter(|i| !is_expired(i, now))).collect())
    }

    async fn put(&self, item: Item, condition: Condition) -> StoreResult<()> {
        Key::of(&item).ok_or_else(|| StoreError::Invalid("an item needs string PK and SK attributes".into()))?;
        let mut req = self.client.put_item().table_name(&self.table).set_item(Some(to_item(&item)));
        if let Some(e) = condition_expr(&condition, self.now()) {
            req = req
                .condition_expression(&e.text)
                .set_expression_attribute_names(e.names())
                .set_expression_attribute_values(e.values());
        }
        match req.send().await {
            Ok(_) => Ok(()),
            Err(e) if is_conditional_failure(&e) => Err(StoreError::ConditionFailed),
            Err(e) => Err(sdk_error(e)),
        }
    }

    async fn delete(&self, key: &Key, condition: Condition) -> StoreResult<()> {
        let mut req = self.client.delete_item().table_name(&self.table).set_key(Some(key_attrs(key)));
        if let Some(e) = condition_expr(&condition, self.now()) {
            req = req
                .condition_expression(&e.text)
                .set_expression_attribute_names(e.names())
                .set_expression_attribute_values(e.values());
        }
        match req.send().await {
            Ok(_) => Ok(()),
            Err(e) if is_conditional_failure(&e) => Err(StoreError::ConditionFailed),
            Err(e) => Err(sdk_error(e)),
        }
    }

    async fn increment(
        &self,
        key: &Key,
        attr: &str,
        delta: i64,
        max: Option<i64>,
        ttl: Option<i64>,
    ) -> StoreResult<i64> {
        if max.is_some_and(|m| delta > m) {
            return Err(StoreError::ConditionFailed);
        }
        for _ in 0..5 {
            let now = self.now();
            let mut names =
                HashMap::from([("#a".to_owned(), attr.to_owned()), ("#ttl".to_owned(), item::TTL.to_owned())]);
            let mut values = HashMap::from([
                (":d".to_owned(), AttributeValue::N(delta.to_string())),
                (":zero".to_owned(), AttributeValue::N("0".into())),
                (":now".to_owned(), AttributeValue::N(now.to_string())),
            ]);
            let mut update = "SET #a = if_not_exists(#a, :zero) + :d".to_owned();
            if let Some(ttl) = ttl {
                update.push_str(", #ttl = if_not_exists(#ttl, :ttl)");
                values.insert(":ttl".into(), AttributeValue::N(ttl.to_string()));
            }
            let mut condition = "(attribute_not_exists(PK) OR attribute_not_exists(#ttl) OR #ttl > :now)".to_owned();
            if let Some(max) = max {
                condition.push_str(" AND (attribute_not_exists(#a) OR #a <= :limit)");
                values.insert(":limit".into(), AttributeValue::N((max - delta).to_string()));
            }
            names.shrink_to_fit();
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key_attrs(key)))
                .update_expression(update)
                .condition_expression(condition)
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(Some(values))
                .return_values(ReturnValue::UpdatedNew)
                .send()
                .await;
            match result {
                Ok(out) => {
                    return out
                        .attributes()
                        .and_then(|a| a.get(attr))
                        .map(from_attr)
                        .and_then(|v| v.as_i64())
                        .ok_or_else(|| StoreError::Backend("UpdateItem returned no counter".into()));
                }
                Err(e) if is_conditional_failure(&e) => {
                    // Either the limit was reached or the item has expired but not been swept
                    // yet; an expired counter starts over, as in the embedded store.
                    let Some(current) = self.raw_get(key).await? else {
                        continue;
                    };
                    if !is_expired(&current, now) {
                        return Err(StoreError::ConditionFailed);
                    }
                    let mut fresh = item::counter_item(key, ttl);
                    fresh.insert(attr.into(), Value::from(delta));
                    // Two writers restarting the same expired counter at once could both
                    // write `delta`; counters whose keys are per-window (rate limits) never
                    // restart, so this only touches reused keys.
                    self.put(fresh, Condition::None).await?;
                    return Ok(delta);
                }
                Err(e) => return Err(sdk_error(e)),
            }
        }
        Err(StoreError::Backend("counter kept changing under contention".into()))
    }

    async fn query(&self, q: Query) -> StoreResult<Page> {
        q.validate()?;
        let (pk_attr, sk_attr) = q.index.attributes();
        let now = self.now();
        let mut names =
            HashMap::from([("#pk".to_owned(), pk_attr.to_owned()), ("#ttl".to_owned(), item::TTL.to_owned())]);
        let mut values = HashMap::from([
            (":pk".to_owned(), AttributeValue::S(q.pk.clone())),
            (":now".to_owned(), AttributeValue::N(now.to_string())),
        ]);
        let mut key_cond = "#pk = :pk".to_owned();
        if let Some(cond) = &q.sk {
            names.insert("#sk".into(), sk_attr.into());
            let (text, vals): (&str, Vec<&String>) = match cond {
                SkCondition::Eq(v) => ("#sk = :sk0", vec![v]),
                SkCondition::BeginsWith(v) => ("begins_with(#sk, :sk0)", vec![v]),
                SkCondition::Between(a, b) => ("#sk BETWEEN :sk0 AND :sk1", vec![a, b]),
                SkCondition::Lt(v) => ("#sk < :sk0", vec![v]),
                SkCondition::Le(v) => ("#sk <= :sk0", vec![v]),
                SkCondition::Gt(v) => ("#sk > :sk0", vec![v]),
                SkCondition::Ge(v) => ("#sk >= :sk0", vec![v]),
            };
            key_cond.push_str(" AND ");
            key_cond.push_str(text);
            for (i, v) in vals.into_iter().enumerate() {
                values.insert(format!(":sk{i}"), AttributeValue::S(v.clone()));
            }
        }
        let mut filter = "(attribute_not_exists(#ttl) OR #ttl > :now)".to_owned();
        for (i, f) in q.filters.iter().enumerate() {
            match f {
                Filter::Contains(attr, needle) => {
                    filter.push_str(&format!(" AND contains(#f{i}, :f{i})"));
                    names.insert(format!("#f{i}"), attr.clone());
                    values.insert(format!(":f{i}"), AttributeValue::S(needle.clone()));
                }
                Filter::Equals(attr, value) => {
                    filter.push_str(&format!(" AND #f{i} = :f{i}"));
                    names.insert(format!("#f{i}"), attr.clone());
                    values.insert(format!(":f{i}"), to_attr(value));
                }
            }
        }
        let mut start: Option<HashMap<String, AttributeValue>> = q.cursor.as_ref().map(|c| {
            let mut k = key_attrs(&Key::new(&c.pk, &c.sk));
            if let (Some(_), Some(isk)) = (&c.index_pk, &c.index_sk) {
                k.insert(pk_attr.into(), AttributeValue::S(q.pk.clone()));
                k.insert(sk_attr.into(), AttributeValue::S(isk.clone()));
            }
            k
        });
        let mut items: Vec<Item> = Vec::new();
        loop {
            let want = q.limit + 1 - items.len();
            let page_limit = if q.filters.is_empty() { want } else { want.clamp(200, 1000) };
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(q.index.dynamo_name().map(str::to_owned))
                .key_condition_expression(&key_cond)
                .filter_expression(&filter)
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                .scan_index_forward(q.forward)
                .consistent_read(q.index == Index::Table)
                .limit(page_limit as i32)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(sdk_error)?;
            items.extend(out.items().iter().map(from_item));
            match out.last_evaluated_key() {
                Some(lek) if items.len() <= q.limit => start = Some(lek.clone()),
                _ => break,
            }
        }
        let next = if items.len() > q.limit {
            items.truncate(q.limit);
            items.last().and_then(|i| Cursor::after_item(q.index, i))
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn transact(&self, ops: Vec<TxOp>) -> StoreResult<()> {
        validate_transaction(&ops)?;
        let mut attempt = 0u32;
        loop {
            let now = self.now();
            let mut items = Vec::with_capacity(ops.len());
            for op in &ops {
                let write = match op {
                    TxOp::Put { item, condition } => {
                        let mut b = Put::builder().table_name(&self.table).set_item(Some(to_item(item)));
                        if let Some(e) = condition_expr(condition, now) {
                            b = b
                                .condition_expression(&e.text)
                                .set_expression_attribute_names(e.names())
                                .set_expression_attribute_values(e.values());
                        }
                        TransactWriteItem::builder()
                            .put(b.build().map_err(|e| StoreError::Invalid(e.to_string()))?)
                            .build()
                    }
                    TxOp::Delete { key, condition } => {
                        let mut b = Delete::builder().table_name(&self.table).set_key(Some(key_attrs(key)));
                        if let Some(e) = condition_expr(condition, now) {
                            b = b
                                .condition_expression(&e.text)
                                .set_expression_attribute_names(e.names())
                                .set_expression_attribute_values(e.values());
                        }
                        TransactWriteItem::builder()
                            .delete(b.build().map_err(|e| StoreError::Invalid(e.to_string()))?)
                            .build()
                    }
                    TxOp::Add { key, deltas } => {
                        let mut names = HashMap::new();
                        let mut values = HashMap::new();
                        let mut parts = Vec::with_capacity(deltas.len());
                        for (i, (attr, delta)) in deltas.iter().enumerate() {
                            names.insert(format!("#a{i}"), attr.clone());
                            values.insert(format!(":d{i}"), AttributeValue::N(delta.to_string()));
                            parts.push(format!("#a{i} :d{i}"));
                        }
                        let b = Update::builder()
                            .table_name(&self.table)
                            .set_key(Some(key_attrs(key)))
                            .update_expression(format!("ADD {}", parts.join(", ")))
                            .set_expression_attribute_names(Some(names))
                            .set_expression_attribute_values(Some(values));
                        TransactWriteItem::builder()
                            .update(b.build().map_err(|e| StoreError::Invalid(e.to_string()))?)
                            .build()
                    }
                    TxOp::Check { key, condition } => {
                        let e = condition_expr(condition, now).unwrap_or_else(|| Expr {
                            text: "attribute_exists(PK) OR attribute_not_exists(PK)".into(),
                            ..Expr::default()
                        });
                        let b = ConditionCheck::builder()
                            .table_name(&self.table)
                            .set_key(Some(key_attrs(key)))
                            .condition_expression(&e.text)
                            .set_expression_attribute_names(e.names())
                            .set_expression_attribute_values(e.values());
                        TransactWriteItem::builder()
                            .condition_check(b.build().map_err(|e| StoreError::Invalid(e.to_string()))?)
                            .build()
                    }
                };
                items.push(write);
            }
            match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
                Ok(_) => return Ok(()),
                Err(err) => {
                    let service = err.as_service_error();
                    if let Some(aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(tce)) = service {
                        let reasons = tce.cancellation_reasons();
                        let failed: Vec<usize> =
                            reasons.iter().enumerate().filter(|(_, r)| r.code() == Some("ConditionalCheckFailed")).map(|(i, _)| i).collect();
                        let conflict = reasons.iter().any(|r| r.code() == Some("TransactionConflict"));
                        if failed.is_empty() && conflict && attempt < 4 {
                            attempt += 1;
                            let jitter = rand::random::<u64>() % 20;
                            tokio::time::sleep(Duration::from_millis(10 * 2u64.pow(attempt) + jitter)).await;
                            continue;
                        }
                        return Err(StoreError::TransactionCanceled { failed });
                    }
                    return Err(sdk_error(err));
                }
            }
        }
    }
}
