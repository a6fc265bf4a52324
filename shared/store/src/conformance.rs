//! The conformance suite every [`TableStore`] adapter must pass. Each case is a plain async
//! function; [`table_store_conformance!`](crate::table_store_conformance) turns the whole list
//! into `#[tokio::test]`s for one adapter, so the embedded and the DynamoDB adapters run the
//! very same assertions.
//!
//! Every case works in partitions named after itself (`ns`), so cases can share one table.

use crate::clock::ManualClock;
use crate::item::{Filter, Index, Item, Key, Query, SkCondition};
use crate::table::{Condition, StoreError, TableStore, TxOp};
use crate::tenant::TenantDb;
use serde_json::{Value, json};
use std::sync::Arc;

pub fn item(pk: &str, sk: &str, extra: Value) -> Item {
    let mut m = match extra {
        Value::Object(m) => m,
        _ => Item::new(),
    };
    m.insert("PK".into(), pk.into());
    m.insert("SK".into(), sk.into());
    m
}

fn sks(items: &[Item]) -> Vec<String> {
    items.iter().map(|i| i["SK"].as_str().unwrap_or_default().to_owned()).collect()
}

pub async fn put_get_round_trip(s: Arc<dyn TableStore>, _c: Arc<ManualClock>, ns: &str) {
    let pk = format!("{ns}#P");
    let original = item(
        &pk,
        "one",
        json!({
            "name": "Zoë Ñúñez-O'Brien 🏋️", "int": 42, "negative": -7, "float": 72.5, "yes": true,
            "nothing": null, "list": [1, "two", {"three": 3.25}], "map": {"nested": {"deep": "é"}}, "empty": ""
        }),
    );
    s.put(original.clone(), Condition::None).await.expect("put");
    assert_eq!(s.get(&Key::new(&pk, "one")).await.expect("get"), Some(original));
    assert_eq!(s.get(&Key::new(&pk, "absent")).await.expect("get"), None);
}

pub async fn conditional_put_and_delete(s: Arc<dyn TableStore>, _c: Arc<ManualClock>, ns: &str) {
    let pk = format!("{ns}#P");
    let key = Key::new(&pk, "k");
    s.put(item(&pk, "k", json!({"version": 1})), Condition::NotExists).await.expect("first create");
    assert!(matches!(
        s.put(item(&pk, "k", json!({"version": 9})), Condition::NotExists).await,
        Err(StoreError::ConditionFailed)
    ));
    assert!(matches!(s.put(item(&pk, "other", json!({})), Condition::Exists).await, Err(StoreError::ConditionFailed)));
    // Optimistic concurrency: only the writer that saw version 1 wins.
    s.put(item(&pk, "k", json!({"version": 2})), Condition::AttrEquals("version".into(), json!(1))).await.expect("cas");
    assert!(matches!(
        s.put(item(&pk, "k", json!({"version": 2})), Condition::AttrEquals("version".into(), json!(1))).await,
        Err(StoreError::ConditionFailed)
    ));
    assert_eq!(s.get(&key).await.unwrap().unwrap()["version"], json!(2));
    assert!(matches!(
        s.delete(&key, Condition::AttrEquals("version".into(), json!(1))).await,
        Err(StoreError::ConditionFailed)
    ));
    s.delete(&key, Condition::Exists).await.expect("delete");
    assert_eq!(s.get(&key).await.unwrap(), None);
    assert!(matches!(s.delete(&key, Condition::Exists).await, Err(StoreError::ConditionFailed)));
    s.delete(&key, Condition::None).await.expect("deleting nothing unconditionally is fine");
}

pub async fn counters(s: Arc<dyn TableStore>, _c: Arc<ManualClock>, ns: &str) {
    let key = Key::new(format!("{ns}#C"), "n");
    assert_eq!(s.increment(&key, "count", 1, Some(3), None).await.unwrap(), 1);
    assert_eq!(s.increment(&key, "count", 2, Some(3), None).await.unwrap(), 3);
    assert!(matches!(s.increment(&key, "count", 1, Some(3), None).await, Err(StoreError::ConditionFailed)));
    assert_eq!(s.increment(&key, "count", -1, None, None).await.unwrap(), 2);
    assert_eq!(s.get(&key).await.unwrap().unwrap()["count"], json!(2));
    // Other attributes of the item survive an increment.
    s.put(item(&key.pk, "m", json!({"label": "keep", "count": 5})), Condition::None).await.unwrap();
    assert_eq!(s.increment(&Key::new(&key.pk, "m"), "count", 10, None, None).await.unwrap(), 15);
    assert_eq!(s.get(&Key::new(&key.pk, "m")).await.unwrap().unwrap()["label"], json!("keep"));
}

pub async fn concurrent_counter_is_exact(s: Arc<dyn TableStore>, _c: Arc<ManualClock>, ns: &str) {
    let key = Key::new(format!("{ns}#C"), "n");
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let (s, key) = (s.clone(), key.clone());
            tokio::spawn(async move { s.increment(&key, "count", 1, Some(15), None).await })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(_) => ok += 1,
            Err(StoreError::ConditionFailed) => {}
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert_eq!(ok, 15);
    assert_eq!(s.get(&key).await.unwrap().unwrap()["count"], json!(15));
}

/// Counters added inside transactions: created on first add, summed exactly under concurrency,
/// other attributes kept, and undone with the rest when the transaction is refused.
pub async fn transactional_adds(s: Arc<dyn TableStore>, _c: Arc<ManualClock>, ns: &str) {
    let pk = format!("{ns}#A");
    let key = Key::new(&pk, "node");
    let add = |deltas: &[(&str, i64)]| TxOp::Add {
        key: key.clone(),
        deltas: deltas.iter().map(|(a, d)| ((*a).to_owned(), *d)).collect(),
    };
    s.transact(vec![add(&[("c1", 2), ("c7", -1)])]).await.expect("first add creates the item");
    let got = s.get(&key).await.unwrap().expect("created");
    assert_eq!((got["c1"].clone(), got["c7"].clone()), (json!(2), json!(-1)));
    s.put(item(&pk, "other", json!({"label": "x"})), Condition::None).await.unwrap();
    let other = Key::new(&pk, "other");
    let with_other = TxOp::Add { key: other.clone(), deltas: vec![("n".into(), 5)] };
    s.transact(vec![with_other]).await.unwrap();
    assert_eq!(s.get(&other).await.unwrap().unwrap()["label"], json!("x"), "an add keeps other attributes");
    // Refused with the rest of its transaction.
    let refused = s
        .transact(vec![add(&[("c1", 100)]), TxOp::Check { key: Key::new(&pk, "absent"), condition: Condition::Exists }])
        .await;
    assert!(matches!(refused, Err(StoreError::TransactionCanceled { ref failed }) if failed == &[1]), "{refused:?}");
    assert_eq!(s.get(&key).await.unwrap().unwrap()["c1"], json!(2));
    // Concurrent adds to one item all count.
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (s, key) = (s.clone(), key.clone());
            tokio::spawn(async move {
                s.transact(vec![TxOp::Add { key, deltas: vec![("c1".into(), 1), (format!("d{}", i % 3), 1)] }]).await
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task").expect("an unconditional add is never refused");
    }
    let got = s.get(&key).await.unwrap().unwrap();
    assert_eq!(got["c1"], json!(22));
    assert_eq!(got["d0"].as_i64().unwrap() + got["d1"].as_i64().unwrap() + got["d2"].as_i64().unwrap(), 20);
    let bad = s.transact(vec![TxOp::Add { key: key.clone(), deltas: vec![("PK".into(), 1)] }]).await;
    assert!(matches!(bad, Err(StoreError::Invalid(_))), "a key attribute is not a counter");
}

/// A batch read answers in the order asked, absent and expired items as `None`.
pub async fn batch_reads(s: Arc<dyn TableStore>, c: Arc<ManualClock>, ns: &str) {
    let pk = format!("{ns}#B");
    for i in 0..30 {
        s.put(item(&pk, &format!("k{i:02}"), json!({"i": i})), Condition::None).await.unwrap();
    }
    let expired = crate::Clock::now(c.as_ref()).timestamp() - 1;
    s.put(item(&pk, "gone", json!({"ttl": expired})), Condition::None).await.unwrap();
    let mut keys: Vec<Key> = (0..30).rev().map(|i| Key::new(&pk, format!("k{i:02}"))).collect();
    keys.insert(3, Key::new(&pk, "absent"));
    keys.push(Key::new(&pk, "gone"));
    let got = s.get_many(&keys).await.expect("batch");
    assert_eq!(got.len(), 32);
    assert_eq!(got[0].as_ref().unwrap()["i"], json!(29));
    assert!(got[3].is_none() && got[31].is_none());
    assert_eq!(got[30].as_ref().unwrap()["i"], json!(0));
    let twice = s.get_many(&[Key::new(&pk, "k01"), Key::new(&pk, "k01")]).await;
    assert!(matches!(twice, Err(StoreError::Invalid(_))));
    assert!(matches!(s.get_many(&[]).await, Err(StoreError::Invalid(_))));
}

async fn seed_range(s: &dyn TableStore, pk: &str, prefix: &str, n: usize) {
    for i in 0..n {
        s.put(item(pk, &format!("{prefix}{i:03}"), json!({"i": i, "even": i % 2 == 0})), Condition::None)
            .await
            .expect("seed");
    }
}

pub async fn query_key_conditions_and_order(s: Arc<dyn TableStore>, _c: Arc<ManualClock>, ns: &str) {
    let pk = format!("{ns}#Q");
    seed_range(s.as_ref(), &pk, "a#", 6).await;
    seed_range(s.as_ref(), &pk, "b#", 3).await;
    s.put(item(&format!("{ns}#OTHER"), "a#000", json!({})), Condition::None).await.unwrap();
    let run = |q: Query| {
        let s = s.clone();
        async move { sks(&s.query(q).await.expect("query").items) }
    };
    let base = || Query::new(Index::Table, &pk);
    assert_eq!(run(base()).await.len(), 9);
    assert_eq!(run(base().sk(SkCondition::BeginsWith("b#".into()))).await, vec!["b#000", "b#001", "b#002"]);
    assert_eq!(run(base().sk(SkCondition::BeginsWith("a#".into())).backward().limit(2)).await, vec!["a#005", "a#004"]);
    assert_eq!(
        run(base().sk(SkCondition::Between("a#002".into(), "a#004".into()))).await,
        vec!["a#002", "a#003", "a#004"]
    );
    assert_eq!(run(base().sk(SkCondition::Lt("a#002".into()))).await, vec!["a#000", "a#001"]);
    assert_eq!(run(base().sk(SkCondition::Le("a#001".into()))).await, vec!["a#000", "a#001"]);
    assert_eq!(run(base().sk(SkCondition::Gt("b#001".into()))).await, vec!["b#002"]);
    assert_eq!(run(base().sk(SkCondition::Ge("b#001".into()))).await, vec!["b#001", "b#002"]);
    assert_eq!(run(base().sk(SkCondition::Eq("a#003".into()))).await, vec!["a#003"]);
}

pub async fn pagination_both_directions(s: Arc<dyn TableStore>, _c: Arc<ManualClock>, ns: &str) {
    let pk = format!("{ns}#P");
    seed_range(s.as_ref(), &pk, "x", 25).await;
    for forward in [true, false] {
        let mut seen = Vec::new();
        let mut cursor = None;
        let mut pages = 0;
        loop {
            let page = s.query(Query::new(Index::Table, &pk).forward(forward).limit(10).after(cursor)).await.unwrap();
            pages += 1;
            seen.extend(sks(&page.items));
            match page.next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let mut expected: Vec<String> = (0..25).map(|i| format!("x{i:03}")).collect();
        if !forward {
            expected.reverse();
        }
        assert_eq!(seen, expected);
        assert_eq!(pages, 3);
    }
    // A page that ends exactly at the last item says there is no more.
    let page = s.query(Query::new(Index::Table, &pk).limit(25)).await.unwrap();
    assert_eq!(page.items.len(), 25);
    assert!(page.next.is_none());
    // A cursor only continues its own listing: another partition or range is refused.
    let other = format!("{ns}#OTHER");
    seed_range(s.as_ref(), &other, "x", 3).await;
    let foreign = s.query(Query::new(Index::Table, &other).limit(1)).await.unwrap().next.unwrap();
    assert!(matches!(
        s.query(Query::new(Index::Table, &pk).after(Some(foreign.clone()))).await,
        Err(StoreError::BadCursor)
    ));
    assert!(matches!(
        s.query_json(Query::new(Index::Table, &pk).after(Some(foreign))).await,
        Err(StoreError::BadCursor)
    ));
    let inside = s.query(Query::new(Index::Table, &pk).limit(2)).await.unwrap().next.unwrap();
    let narrowed = Query::new(Index::Table, &pk).sk(SkCondition::Ge("x010".into())).after(Some(inside));
    assert!(matches!(s.query(narrowed).await, Err(StoreError::BadCursor)), "a position outside the range");
    // A cursor survives its wire form.
    let first = s.query(Query::new(Index::Table, &pk).limit(5)).await.unwrap();
    let cursor = crate::item::Cursor::decode(&first.next.unwrap().encode()).unwrap();
    let second = s.query(Query::new(Index::Table, &pk).limit(5).after(Some(cursor))).await.unwrap();
    assert_eq!(sks(&second.items)[0], "x005");
}

/// Paging a key range, either way and on the table or an index (items sharing an index sort
/// key included), yields the same items as reading it whole.
pub async fn paged_ranges_match_whole_ranges(s: Arc<dyn TableStore>, _c: Arc<ManualClock>, ns: &str) {
    let pk = format!("{ns}#R");
    let g2 = format!("{ns}#R2");
    for i in 0..30 {
        let extra = json!({"GSI2PK": g2, "GSI2SK": format!("r{:03}", i / 3)});
        s.put(item(&pk, &format!("r{i:03}"), extra), Condition::None).await.expect("seed");
    }
    let conditions = |a: u32, b: u32| {
        [
            SkCondition::BeginsWith("r00".into()),
            SkCondition::Between(format!("r{a:03}"), format!("r{b:03}")),
            SkCondition::Gt(format!("r{a:03}")),
            SkCondition::Ge(format!("r{a:03}")),
            SkCondition::Lt(format!("r{b:03}")),
            SkCondition::Le(format!("r{b:03}")),
        ]
    };
    for (index, partition, (a, b)) in [(Index::Table, &pk, (5, 24)), (Index::Gsi2, &g2, (2, 7))] {
        for condition in conditions(a, b) {
            for forward in [true, false] {
                let query = || Query::new(index, partition).sk(condition.clone()).forward(forward);
                let whole = sks(&s.query(query().limit(100)).await.expect("whole").items);
                assert!(!whole.is_empty(), "{condition:?}");
                for limit in [2, 7] {
                    let mut seen = Vec::new();
                    let mut cursor = None;
                    loop {
                        let page = s.query(query().limit(limit).after(cursor)).await.expect("page");
                        seen.extend(sks(&page.items));
                        match page.next {
                            Some(c) => cursor = Some(c),
                            None => break,
                        }
                    }
                    assert_eq!(seen, whole, "{index:?} {condition:?} forward={forward} limit={limit}");
                }
            }
        }
    }
}

pub async fn secondary_indexes(s: Arc<dyn TableStore>, _c: Arc<ManualClock>, ns: &str) {
    let g1 = format!("{ns}#G1");
    let g2 = format!("{ns}#G2");
    for i in 0..12 {
        let mut extra = json!({"GSI1PK": g1, "GSI1SK": format!("t#{:02}", 11 - i)});
        if i % 3 == 0 {
            extra["GSI2PK"] = json!(g2);
            // Several items share one index sort key: pagination must still see each once.
            extra["GSI2SK"] = json!("same");
        }
        s.put(item(&format!("{ns}#T"), &format!("i{i:02}"), extra), Condition::None).await.unwrap();
    }
    // An item without index keys is not in the index (sparse).
    s.put(item(&format!("{ns}#T"), "loner", json!({})), Condition::None).await.unwrap();
    let all = s.query(Query::new(Index::Gsi1, &g1)).await.unwrap();
    assert_eq!(sks(&all.items), (0..12).rev().map(|i| format!("i{i:02}")).collect::<Vec<_>>());
    let ranged = s
        .query(Query::new(Index::Gsi1, &g1).sk(SkCondition::Between("t#03".into(), "t#05".into())).backward())
        .await
        .unwrap();
    assert_eq!(sks(&ranged.items), vec!["i06", "i07", "i08"]);
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = s.query(Query::new(Index::Gsi2, &g2).limit(1).after(cursor)).await.unwrap();
        seen.extend(sks(&page.items));
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen, vec!["i00", "i03", "i06", "i09"]);
    // Moving an item in the index: rewrite it with a new index key.
    s.put(item(&format!("{ns}#T"), "i00", json!({"GSI1PK": g1, "GSI1SK": "t#99"})), Condition::Exists).await.unwrap();
    let newest = s.query(Query::new(Index::Gsi1, &g1).backward().limit(1)).await.unwrap();
    assert_eq!(sks(&newest.items), vec!["i00"]);
    let g2_after = s.query(Query::new(Index::Gsi2, &g2)).await.unwrap();
    assert_eq!(g2_after.items.len(), 3, "dropping the GSI2 keys removes the item from GSI2");
}

pub async fn filters_fill_pages(s: Arc<dyn TableStore>, _c: Arc<ManualClock>, ns: &str) {
    let pk = format!("{ns}#F");
    for i in 0..40 {
        let text = if i % 5 == 0 { format!("josé núñez {i}") } else { format!("someone else {i}") };
        s.put(item(&pk, &format!("r{i:03}"), json!({"text": text, "odd": i % 2 == 1})), Condition::None).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = s
            .query(
                Query::new(Index::Table, &pk)
                    .filter(Filter::Contains("text".into(), "núñez".into()))
                    .limit(3)
                    .after(cursor),
            )
            .await
            .unwrap();
        assert!(page.items.len() == 3 || page.next.is_none(), "a filtered page is full unless it is the last");
        seen.extend(sks(&page.items));
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, (0..40).step_by(5).map(|i| format!("r{i:03}")).collect::<Vec<_>>());
    let both = s
        .query(
            Query::new(Index::Table, &pk)
                .filter(Filter::Contains("text".into(), "núñez".into()))
                .filter(Filter::Equals("odd".into(), json!(true))),
        )
        .await
        .unwrap();
    assert_eq!(sks(&both.items), vec!["r005", "r015", "r025", "r035"]);
}

pub async fn transactions_are_all_or_nothing(s: Arc<dyn TableStore>, _c: Arc<ManualClock>, ns: &str) {
    let pk = format!("{ns}#X");
    s.put(item(&pk, "taken", json!({"v": 1})), Condition::None).await.unwrap();
    let result = s
        .transact(vec![
            TxOp::Put { item: item(&pk, "new1", json!({})), condition: Condition::NotExists },
            TxOp::Put { item: item(&pk, "taken", json!({"v": 2})), condition: Condition::NotExists },
            TxOp::Delete { key: Key::new(&pk, "taken"), condition: Condition::None },
        ])
        .await;
    assert!(matches!(result, Err(StoreError::Invalid(_))), "two operations on one item are refused: {result:?}");
    let result = s
        .transact(vec![
            TxOp::Put { item: item(&pk, "new1", json!({})), condition: Condition::NotExists },
            TxOp::Put { item: item(&pk, "taken", json!({"v": 2})), condition: Condition::NotExists },
            TxOp::Check { key: Key::new(&pk, "missing"), condition: Condition::Exists },
        ])
        .await;
    match result {
        Err(StoreError::TransactionCanceled { failed }) => assert_eq!(failed, vec![1, 2]),
        other => panic!("expected a cancelled transaction, got {other:?}"),
    }
    assert_eq!(s.get(&Key::new(&pk, "new1")).await.unwrap(), None, "nothing of a cancelled transaction is written");
    assert_eq!(s.get(&Key::new(&pk, "taken")).await.unwrap().unwrap()["v"], json!(1));
    s.transact(vec![
        TxOp::Put { item: item(&pk, "new1", json!({})), condition: Condition::NotExists },
        TxOp::Put { item: item(&pk, "new2", json!({})), condition: Condition::None },
        TxOp::Delete { key: Key::new(&pk, "taken"), condition: Condition::AttrEquals("v".into(), json!(1)) },
        TxOp::Check { key: Key::new(&pk, "new0"), condition: Condition::NotExists },
    ])
    .await
    .expect("transaction");
    let left = s.query(Query::new(Index::Table, &pk)).await.unwrap();
    assert_eq!(sks(&left.items), vec!["new1", "new2"]);
}

pub async fn ttl_hides_expired_items(s: Arc<dyn TableStore>, c: Arc<ManualClock>, ns: &str) {
    let pk = format!("{ns}#TTL");
    let now = c.now_secs();
    s.put(item(&pk, "short", json!({"ttl": now + 60, "GSI1PK": format!("{pk}#G"), "GSI1SK": "1"})), Condition::None)
        .await
        .unwrap();
    s.put(item(&pk, "long", json!({"ttl": now + 3600})), Condition::None).await.unwrap();
    s.put(item(&pk, "forever", json!({})), Condition::None).await.unwrap();
    assert!(s.get(&Key::new(&pk, "short")).await.unwrap().is_some());
    c.advance(chrono::Duration::seconds(61));
    assert_eq!(s.get(&Key::new(&pk, "short")).await.unwrap(), None);
    assert_eq!(sks(&s.query(Query::new(Index::Table, &pk)).await.unwrap().items), vec!["forever", "long"]);
    assert!(s.query(Query::new(Index::Gsi1, format!("{pk}#G"))).await.unwrap().items.is_empty());
    // An expired item counts as absent for conditions, and a counter on it starts over.
    s.put(item(&pk, "short", json!({"v": "reborn"})), Condition::NotExists).await.expect("expired item is absent");
    s.put(item(&pk, "ctr", json!({"count": 50, "ttl": c.now_secs() + 10})), Condition::None).await.unwrap();
    c.advance(chrono::Duration::seconds(11));
    assert_eq!(s.increment(&Key::new(&pk, "ctr"), "count", 1, Some(5), Some(c.now_secs() + 10)).await.unwrap(), 1);
}

pub async fn json_reads_match_item_reads(s: Arc<dyn TableStore>, c: Arc<ManualClock>, ns: &str) {
    let pk = format!("{ns}#J");
    for i in 0..7 {
        let extra = json!({"name": format!("Zoë {i}"), "n": i, "score": 1.5 * i as f64, "nested": {"ok": i % 2 == 0}, "GSI1PK": format!("{pk}#G"), "GSI1SK": format!("{i:02}")});
        s.put(item(&pk, &format!("k{i}"), extra), Condition::None).await.unwrap();
    }
    s.put(item(&pk, "gone", json!({"ttl": c.now_secs() - 1})), Condition::None).await.unwrap();
    let parse = |j: &str| serde_json::from_str::<Item>(j).expect("valid JSON");
    let as_item = s.get(&Key::new(&pk, "k3")).await.unwrap().unwrap();
    assert_eq!(parse(&s.get_json(&Key::new(&pk, "k3")).await.unwrap().unwrap()), as_item);
    assert_eq!(s.get_json(&Key::new(&pk, "gone")).await.unwrap(), None, "expired items are absent here too");
    assert_eq!(s.get_json(&Key::new(&pk, "none")).await.unwrap(), None);
    for index in [Index::Table, Index::Gsi1] {
        let partition = if index == Index::Table { pk.clone() } else { format!("{pk}#G") };
        let by_object = || Query::new(index, &partition).filter(Filter::Equals("nested".into(), json!({"ok": true})));
        assert!(matches!(s.query(by_object()).await, Err(StoreError::Invalid(_))), "filters compare scalars only");
        assert!(matches!(s.query_json(by_object()).await, Err(StoreError::Invalid(_))));
        let q = || Query::new(index, &partition).backward().limit(3);
        let items = s.query(q()).await.unwrap();
        let texts = s.query_json(q()).await.unwrap();
        assert_eq!(texts.items.iter().map(|j| parse(j)).collect::<Vec<_>>(), items.items);
        assert_eq!(texts.next, items.next);
        let next = s.query_json(q().after(texts.next.clone())).await.unwrap();
        assert_eq!(next.items.len(), 3);
        assert_eq!(parse(&next.items[0])["SK"], "k3");
    }
}

impl ManualClock {
    fn now_secs(&self) -> i64 {
        use crate::Clock;
        self.now().timestamp()
    }
}

/// Expands to one `#[tokio::test]` per conformance case. `$make` is an async closure taking an
/// `Arc<ManualClock>` and returning an `Arc<dyn TableStore>` that reads that clock.
#[macro_export]
macro_rules! table_store_conformance {
    ($make:expr) => {
        $crate::table_store_conformance!(@cases $make;
            put_get_round_trip, conditional_put_and_delete, counters, concurrent_counter_is_exact,
            query_key_conditions_and_order, pagination_both_directions, paged_ranges_match_whole_ranges,
            secondary_indexes,
            filters_fill_pages, transactions_are_all_or_nothing, ttl_hides_expired_items,
            json_reads_match_item_reads, transactional_adds, batch_reads);
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let clock = std::sync::Arc::new($crate::ManualClock::new(
                    chrono::DateTime::parse_from_rfc3339("2026-02-28T23:59:30Z").unwrap().with_timezone(&chrono::Utc),
                ));
                let store = ($make)(clock.clone()).await;
                let ns = format!("{}#{}", stringify!($case), iron_domain::Id::generate(iron_domain::IdKind::Test, 0));
                $crate::conformance::$case(store, clock, &ns).await;
            }
        )*
    };
}

// ---- queue ----

use crate::cipher::EncryptionContext;
use crate::queue::Queue;
use crate::scheduler::{ScheduleExpression, ScheduleTarget, Scheduler};
use crate::{KeyCipher, QueueMessage};
use std::time::Duration;

async fn receive_all(q: &dyn Queue, want: usize, visibility: Duration) -> Vec<QueueMessage> {
    let mut got = Vec::new();
    for _ in 0..20 {
        got.extend(q.receive(10, visibility, Duration::from_millis(500)).await.expect("receive"));
        if got.len() >= want {
            break;
        }
    }
    got
}

pub async fn queue_send_receive_delete(q: Arc<dyn Queue>, _dlq: Arc<dyn Queue>) {
    for body in ["one", "twö", "{\"three\":3}"] {
        q.send(body, Duration::ZERO).await.expect("send");
    }
    let got = receive_all(q.as_ref(), 3, Duration::from_secs(30)).await;
    let mut bodies: Vec<_> = got.iter().map(|m| m.body.as_str()).collect();
    bodies.sort();
    assert_eq!(bodies, vec!["one", "twö", "{\"three\":3}"]);
    assert!(got.iter().all(|m| m.receive_count == 1));
    for m in &got {
        q.delete(&m.receipt).await.expect("delete");
    }
    assert!(q.receive(10, Duration::from_secs(30), Duration::from_millis(200)).await.unwrap().is_empty());
    assert!(matches!(q.send("late", Duration::from_secs(901)).await, Err(StoreError::Invalid(_))));
}

pub async fn queue_visibility_and_redelivery(q: Arc<dyn Queue>, _dlq: Arc<dyn Queue>) {
    q.send("retry me", Duration::ZERO).await.unwrap();
    let first = receive_all(q.as_ref(), 1, Duration::from_secs(1)).await;
    assert_eq!(first.len(), 1);
    assert!(q.receive(10, Duration::from_secs(1), Duration::ZERO).await.unwrap().is_empty(), "hidden while in flight");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let second = receive_all(q.as_ref(), 1, Duration::from_secs(30)).await;
    assert_eq!(second.len(), 1, "redelivered after the visibility timeout");
    assert_eq!(second[0].id, first[0].id);
    assert_eq!(second[0].receive_count, 2);
    q.delete(&second[0].receipt).await.unwrap();
    // Visibility zero makes an in-flight message visible at once.
    q.send("release me", Duration::ZERO).await.unwrap();
    let held = receive_all(q.as_ref(), 1, Duration::from_secs(30)).await;
    assert_eq!(held.len(), 1);
    q.change_visibility(&held[0].receipt, Duration::ZERO).await.unwrap();
    let again = receive_all(q.as_ref(), 1, Duration::from_secs(30)).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, held[0].id);
    q.delete(&again[0].receipt).await.unwrap();
}

pub async fn queue_delay(q: Arc<dyn Queue>, _dlq: Arc<dyn Queue>) {
    q.send("later", Duration::from_secs(2)).await.unwrap();
    assert!(q.receive(10, Duration::from_secs(30), Duration::ZERO).await.unwrap().is_empty(), "delayed");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let got = receive_all(q.as_ref(), 1, Duration::from_secs(30)).await;
    assert_eq!(got.len(), 1);
    q.delete(&got[0].receipt).await.unwrap();
}

/// The queue redrives to `dlq` after 2 receives.
pub async fn queue_dead_letter(q: Arc<dyn Queue>, dlq: Arc<dyn Queue>) {
    q.send("poison", Duration::ZERO).await.unwrap();
    for attempt in 1..=2 {
        let got = receive_all(q.as_ref(), 1, Duration::from_secs(1)).await;
        assert_eq!(got.len(), 1, "receive {attempt}");
        tokio::time::sleep(Duration::from_millis(1200)).await;
    }
    assert!(
        q.receive(10, Duration::from_secs(1), Duration::from_millis(500)).await.unwrap().is_empty(),
        "moved off the main queue"
    );
    let dead = receive_all(dlq.as_ref(), 1, Duration::from_secs(30)).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, "poison");
}

/// One `#[tokio::test]` per queue case. `$make` is an async fn taking an `Arc<ManualClock>`
/// (adapters on real time may ignore it) and returning `(queue, its dead-letter queue)` with a
/// max receive count of 2.
#[macro_export]
macro_rules! queue_conformance {
    ($make:expr) => {
        $crate::queue_conformance!(@cases $make; queue_send_receive_delete, queue_visibility_and_redelivery, queue_delay, queue_dead_letter);
    };
    (@cases $make:expr; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let clock = std::sync::Arc::new($crate::ManualClock::new(chrono::Utc::now()));
                let (q, dlq) = ($make)(clock).await;
                $crate::conformance::$case(q, dlq).await;
            }
        )*
    };
}

// ---- key cipher ----

pub async fn key_cipher(cipher: Arc<dyn KeyCipher>) {
    let ctx: EncryptionContext =
        [("businessId".to_owned(), "biz_A".to_owned()), ("purpose".to_owned(), "wodify".to_owned())].into();
    let other: EncryptionContext =
        [("businessId".to_owned(), "biz_B".to_owned()), ("purpose".to_owned(), "wodify".to_owned())].into();
    let secret = "wodify-api-key-ÄÖÜ-1234567890".as_bytes();
    let a = cipher.encrypt(secret, &ctx).await.expect("encrypt");
    let b = cipher.encrypt(secret, &ctx).await.expect("encrypt");
    assert_ne!(a.ciphertext, b.ciphertext, "fresh data key and nonce per value");
    assert!(!a.ciphertext.windows(secret.len()).any(|w| w == secret));
    assert_eq!(cipher.decrypt(&a, &ctx).await.expect("decrypt"), secret);
    assert!(cipher.decrypt(&a, &other).await.is_err(), "another tenant's context cannot decrypt");
    let mut tampered = a.clone();
    tampered.ciphertext[0] ^= 1;
    assert!(cipher.decrypt(&tampered, &ctx).await.is_err(), "tampering is detected");
}

// ---- scheduler ----

pub async fn scheduler(s: Arc<dyn Scheduler>) {
    let nightly = ScheduleTarget {
        name: "wodify-sync-biz_A".into(),
        expression: ScheduleExpression::DailyAt { hour: 3, minute: 15 },
        payload: json!({"businessId": "biz_A"}),
    };
    let often = ScheduleTarget {
        name: "sweeper".into(),
        expression: ScheduleExpression::EveryMinutes(5),
        payload: json!({"job": "sweep"}),
    };
    s.put(nightly.clone()).await.unwrap();
    s.put(often.clone()).await.unwrap();
    let mut listed = s.list().await.unwrap();
    listed.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(listed, vec![often.clone(), nightly.clone()]);
    let moved = ScheduleTarget { expression: ScheduleExpression::DailyAt { hour: 4, minute: 0 }, ..nightly.clone() };
    s.put(moved.clone()).await.unwrap();
    s.delete("sweeper").await.unwrap();
    assert_eq!(s.list().await.unwrap(), vec![moved]);
    assert!(s.put(ScheduleTarget { expression: ScheduleExpression::EveryMinutes(0), ..often }).await.is_err());
}

// ---- outbox fan-out ----

/// Events become one delivery per subscribed, active webhook of their own business, once.
pub async fn fan_out_scenario(s: Arc<dyn TableStore>, c: Arc<ManualClock>) {
    use crate::Clock;
    use crate::repo::{deliveries, events, webhooks};
    use iron_domain::{Event, Id, IdKind, RetryPolicyName, Webhook};
    let now = c.now();
    let envelope =
        crate::Envelope { key_id: "test".into(), encrypted_data_key: vec![], nonce: vec![], ciphertext: vec![] };
    let hook = |biz: &Id, events: &[&str], active: bool| webhooks::StoredWebhook {
        webhook: Webhook {
            id: Id::generate(IdKind::Webhook, now.timestamp_millis()),
            business_id: biz.clone(),
            url: "https://93.184.215.14/hook".into(),
            events: events.iter().map(|e| (*e).to_owned()).collect(),
            description: None,
            active,
            disabled_reason: None,
            retry_policy: RetryPolicyName::Standard,
            rate_limit_per_second: 10,
            created_at: now,
            updated_at: now,
        },
        secret: envelope.clone(),
        previous_secret: None,
        previous_until: None,
    };
    let b = Id::generate(IdKind::Business, now.timestamp_millis());
    let other = Id::generate(IdKind::Business, now.timestamp_millis());
    let (sb, so) = (crate::tenant::TenantScope::new(b.clone()), crate::tenant::TenantScope::new(other.clone()));
    let w1 = hook(&b, &["member.created"], true);
    let w2 = hook(&b, &["test.completed"], true);
    let off = hook(&b, &["member.created"], false);
    let wo = hook(&other, &["member.created"], true);
    for (scope, h) in [(&sb, &w1), (&sb, &w2), (&sb, &off), (&so, &wo)] {
        webhooks::create(TenantDb::new(s.as_ref(), scope), h).await.unwrap();
    }
    let e1 = Event::new("member.created", &b, now, json!({"id": "ath_1"}));
    let e2 = Event::new("test.completed", &b, now, json!({"id": "tst_1"}));
    let e3 = Event::new("member.created", &other, now, json!({"id": "ath_2"}));
    let e4 = Event::new("goal.achieved", &b, now, json!({}));
    for (scope, e) in [(&sb, &e1), (&sb, &e2), (&so, &e3), (&sb, &e4)] {
        s.transact(vec![events::outbox_op(scope, e)]).await.unwrap();
    }
    let made = deliveries::fan_out(s.as_ref(), now, 100).await.unwrap();
    assert_eq!(made.len(), 3, "{made:?}");
    let mut pairs = Vec::new();
    for r in &made {
        let d = deliveries::get(
            TenantDb::new(s.as_ref(), &crate::tenant::TenantScope::new(r.business_id.clone())),
            &r.delivery_id,
        )
        .await
        .unwrap();
        assert_eq!(d.state, deliveries::DeliveryState::Pending);
        pairs.push((d.event_id.clone(), d.webhook_id.clone()));
    }
    pairs.sort();
    let mut expected = vec![
        (e1.id.clone(), w1.webhook.id.clone()),
        (e2.id.clone(), w2.webhook.id.clone()),
        (e3.id.clone(), wo.webhook.id.clone()),
    ];
    expected.sort();
    assert_eq!(pairs, expected, "each event reaches only its own business's subscribed, active webhooks");
    assert!(deliveries::fan_out(s.as_ref(), now, 100).await.unwrap().is_empty(), "an event is fanned out once");
    let mut due = deliveries::due(s.as_ref(), now, 100).await.unwrap();
    due.sort_by(|a, b| a.delivery_id.cmp(&b.delivery_id));
    let mut made_sorted = made.clone();
    made_sorted.sort_by(|a, b| a.delivery_id.cmp(&b.delivery_id));
    assert_eq!(due, made_sorted, "new deliveries are due at once");
    c.advance(chrono::Duration::days(31));
    assert!(
        deliveries::due(s.as_ref(), c.now(), 100).await.unwrap().is_empty(),
        "delivery records expire after 30 days"
    );
}

// ---- blob store ----

/// Every data operation of a blob store: put and ranged reads, info, delete, a streamed write
/// large enough to take several parts, keys that could escape refused, and presigned URLs that
/// carry their expiry.
pub async fn blob_store(b: Arc<dyn crate::BlobStore>, now: chrono::DateTime<chrono::Utc>, ns: &str) {
    let key = format!("b/{ns}/job/upload.csv");
    assert_eq!(b.read(&key, 0, 10).await.unwrap(), None);
    assert_eq!(b.info(&key).await.unwrap(), None);
    let body = "id;name\r\n1;Åsa Öberg\r\n".as_bytes().to_vec();
    b.put(&key, body.clone(), "text/csv").await.unwrap();
    assert_eq!(b.info(&key).await.unwrap().unwrap().size, body.len() as u64);
    assert_eq!(b.read(&key, 0, 1 << 20).await.unwrap().unwrap(), body);
    assert_eq!(b.read(&key, 3, 4).await.unwrap().unwrap(), body[3..7].to_vec());
    assert_eq!(b.read(&key, body.len() as u64 - 2, 100).await.unwrap().unwrap(), body[body.len() - 2..].to_vec());
    assert_eq!(
        b.read(&key, body.len() as u64, 100).await.unwrap().unwrap(),
        Vec::<u8>::new(),
        "at the end: nothing more"
    );
    b.put(&key, b"replaced".to_vec(), "text/csv").await.unwrap();
    assert_eq!(b.read(&key, 0, 100).await.unwrap().unwrap(), b"replaced");
    b.delete(&key).await.unwrap();
    assert_eq!(b.info(&key).await.unwrap(), None);
    b.delete(&key).await.expect("deleting nothing is fine");

    // A streamed write of 2.5 parts: invisible until finished, then byte for byte what was written.
    let big = format!("b/{ns}/job/export.csv");
    let mut w = b.writer(&big, "text/csv").await.unwrap();
    let line: Vec<u8> = (0..1000u32).map(|i| b'a' + (i % 26) as u8).chain(*b"\r\n").collect();
    let lines = (crate::blob::PART_BYTES * 5 / 2) / line.len() + 1;
    for _ in 0..lines {
        w.write(&line).await.unwrap();
    }
    assert_eq!(b.info(&big).await.unwrap(), None, "nothing visible before finish");
    let size = w.finish().await.unwrap();
    assert_eq!(size, (lines * line.len()) as u64);
    assert_eq!(b.info(&big).await.unwrap().unwrap().size, size);
    let tail = b.read(&big, size - line.len() as u64, line.len()).await.unwrap().unwrap();
    assert_eq!(tail, line);
    let mid = b.read(&big, crate::blob::PART_BYTES as u64 - 1, 2).await.unwrap().unwrap();
    let at = (crate::blob::PART_BYTES - 1) % line.len();
    assert_eq!(mid, vec![line[at], line[(at + 1) % line.len()]], "across a part boundary");
    // A small streamed write is one object too.
    let small = format!("b/{ns}/job/errors.csv");
    let mut w = b.writer(&small, "text/csv").await.unwrap();
    w.write(b"row,field,message\r\n").await.unwrap();
    assert_eq!(w.finish().await.unwrap(), 19);
    assert_eq!(b.read(&small, 0, 100).await.unwrap().unwrap(), b"row,field,message\r\n");

    for bad in ["", "../x", "b//x", "b/./x", "b/x y", "/abs"] {
        assert!(matches!(b.put(bad, Vec::new(), "text/csv").await, Err(StoreError::Invalid(_))), "{bad:?}");
    }
    let expires = now + chrono::Duration::minutes(15);
    let get = b.download_url(&small, "errors.csv", expires).await.unwrap();
    assert_eq!((get.method, get.expires_at), ("GET", expires));
    assert!(get.url.starts_with("http"), "{}", get.url);
    let put = b.upload_url(&format!("b/{ns}/job2/upload.csv"), "text/csv", expires).await.unwrap();
    assert_eq!(put.method, "PUT");
    assert_ne!(put.url, get.url);
    b.delete(&big).await.unwrap();
    b.delete(&small).await.unwrap();
}
