//! Routing and the data operations against mock nodes: keys go to the shard the built-in
//! hash router names, batches are grouped per shard, multi-gets stay aligned, and scans
//! merge shards in key order with paging and limits.

mod common;

use bytes::Bytes;
use common::Mock;
use dougdb_client::{Client, Consistency, Error};
use dougdb_plugin_abi::hash_route;

fn key(i: usize) -> Vec<u8> {
    format!("key-{i:04}").into_bytes()
}

#[tokio::test]
async fn every_key_goes_to_the_shard_hash_route_names() {
    let mock = Mock::start(3, 4).await;
    let client = Client::connect(&mock.endpoints()).await.unwrap();
    for i in 0..64 {
        client.put(key(i), b"v").await.unwrap();
        assert_eq!(
            client.shard_for(key(i)).unwrap().0,
            u64::from(hash_route(&key(i), 4))
        );
    }
    let calls = mock.calls();
    assert_eq!(calls.len(), 64);
    for c in &calls {
        assert_eq!(c.shard, u64::from(hash_route(&c.key, 4)), "{c:?}");
    }
    let used: std::collections::HashSet<u64> = calls.iter().map(|c| c.shard).collect();
    assert_eq!(used.len(), 4, "64 keys should touch all 4 shards");
}

#[tokio::test]
async fn put_get_delete_cas_follow_the_python_semantics() {
    let mock = Mock::start(1, 2).await;
    let client = Client::connect(&mock.endpoints()).await.unwrap();
    assert_eq!(client.get(b"k", Consistency::Strong).await.unwrap(), None);
    client.put(b"k", b"").await.unwrap();
    assert_eq!(
        client.get(b"k", Consistency::Strong).await.unwrap(),
        Some(Bytes::new()),
        "b\"\" is a value, distinct from absent"
    );
    assert!(client.delete(b"k").await.unwrap());
    assert!(!client.delete(b"k").await.unwrap());
    assert!(client.cas(b"k", None, Some(b"v1")).await.unwrap());
    assert!(!client.cas(b"k", None, Some(b"v2")).await.unwrap());
    assert!(client.cas(b"k", Some(b"v1"), None).await.unwrap());
    assert_eq!(client.get("k", Consistency::Eventual).await.unwrap(), None);
    let err = client.put(b"", b"v").await.unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
}

#[tokio::test]
async fn put_many_sends_one_batch_per_shard_and_get_many_is_aligned() {
    let mock = Mock::start(3, 4).await;
    let client = Client::connect(&mock.endpoints()).await.unwrap();
    let items: Vec<(Vec<u8>, Vec<u8>)> = (0..40).map(|i| (key(i), key(i + 1000))).collect();
    client.put_many(items.clone()).await.unwrap();

    let batches: Vec<_> = mock
        .calls()
        .into_iter()
        .filter(|c| c.method == "batch")
        .collect();
    let mut shards: Vec<u64> = batches.iter().map(|c| c.shard).collect();
    shards.sort_unstable();
    assert_eq!(shards, vec![0, 1, 2, 3], "one batch per shard");
    let tags: std::collections::HashSet<_> = batches.iter().map(|c| c.tag).collect();
    assert_eq!(tags.len(), 4, "each shard's batch is its own tagged write");
    {
        let model = mock.lock();
        for (k, v) in &items {
            let shard = hash_route(k, 4) as usize;
            assert_eq!(
                model.shards[shard].get(&k[..]).map(|b| &b[..]),
                Some(&v[..])
            );
        }
    }

    let mut keys: Vec<Vec<u8>> = (0..40).rev().map(key).collect();
    keys.insert(5, b"absent".to_vec());
    let values = client.get_many(&keys, Consistency::Strong).await.unwrap();
    assert_eq!(values.len(), keys.len());
    for (k, v) in keys.iter().zip(&values) {
        let expected = items
            .iter()
            .find(|(ik, _)| ik == k)
            .map(|(_, iv)| iv.clone());
        assert_eq!(v.as_ref().map(|b| b.to_vec()), expected, "key {k:?}");
    }
}

#[tokio::test]
async fn put_many_refuses_a_shard_share_over_the_batch_limit_before_sending() {
    let mock = Mock::start(1, 1).await;
    let client = Client::connect(&mock.endpoints()).await.unwrap();
    let items: Vec<(Vec<u8>, &[u8])> = (0..1025).map(|i| (key(i), &b"v"[..])).collect();
    let err = client.put_many(items).await.unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    assert!(mock.calls().is_empty());
}

#[tokio::test]
async fn scan_merges_four_shards_in_key_order_with_paging_and_limits() {
    let mock = Mock::start(3, 4).await;
    mock.lock().page_size = 3;
    let client = Client::connect(&mock.endpoints()).await.unwrap();
    let items: Vec<(Vec<u8>, Vec<u8>)> = (0..50).map(|i| (key(i), key(i))).collect();
    client.put_many(items.clone()).await.unwrap();

    let all = client
        .scan(b"", None, None, Consistency::Strong)
        .await
        .unwrap();
    let keys: Vec<Vec<u8>> = all.iter().map(|(k, _)| k.to_vec()).collect();
    assert_eq!(keys, (0..50).map(key).collect::<Vec<_>>());
    let pages = mock.calls().iter().filter(|c| c.method == "scan").count();
    assert!(pages >= 50 / 3, "paged internally: {pages} pages");

    let some = client
        .scan(key(10), Some(&key(30)), Some(7), Consistency::Eventual)
        .await
        .unwrap();
    let keys: Vec<Vec<u8>> = some.iter().map(|(k, _)| k.to_vec()).collect();
    assert_eq!(keys, (10..17).map(key).collect::<Vec<_>>());

    let range = client
        .scan(key(45), Some(&key(48)), None, Consistency::Strong)
        .await
        .unwrap();
    assert_eq!(range.len(), 3);
    assert!(
        client
            .scan(b"", None, Some(0), Consistency::Strong)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        client
            .scan(b"b", Some(b"a"), None, Consistency::Strong)
            .await
            .unwrap()
            .is_empty()
    );
}
