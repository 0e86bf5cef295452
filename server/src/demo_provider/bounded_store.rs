//! The demo provider's memory. Anyone can make it store something (a consent form needs no
//! secret), so each store holds at most `capacity` entries, each for at most `lifetime`:
//! when full the oldest entry goes, and expired ones are dropped as new ones come. Every
//! operation is O(1) under the lock, whatever the store holds.

use std::{
    num::NonZeroUsize,
    sync::Mutex,
    time::{Duration, Instant},
};

use lru::LruCache;

pub struct BoundedStore<V> {
    /// Oldest first: entries are never promoted, so LRU order is insertion order.
    entries: Mutex<LruCache<String, (V, Instant)>>,
    lifetime: Duration,
}

impl<V> BoundedStore<V> {
    pub fn new(capacity: usize, lifetime: Duration) -> Self {
        let capacity = NonZeroUsize::new(capacity).expect("a store holds something");
        Self {
            entries: Mutex::new(LruCache::new(capacity)),
            lifetime,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<String, (V, Instant)>> {
        // A panic elsewhere while holding the lock leaves the map itself consistent.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Stores `value` under `key`, evicting the oldest entry when full.
    pub fn insert(&self, key: String, value: V) {
        let mut entries = self.lock();
        self.drop_expired(&mut entries);
        entries.push(key, (value, Instant::now()));
    }

    /// Stores `value` unless a live entry holds `key`; false if one did. One step under the
    /// lock, so of two callers with the same key exactly one stores it (a nonce's first use).
    #[cfg(feature = "stand-in-providers")]
    pub fn insert_new(&self, key: String, value: V) -> bool {
        let mut entries = self.lock();
        self.drop_expired(&mut entries);
        if entries.contains(&key) {
            return false;
        }
        entries.push(key, (value, Instant::now()));
        true
    }

    /// Oldest first, so the expired ones are at the front.
    fn drop_expired(&self, entries: &mut LruCache<String, (V, Instant)>) {
        while entries
            .peek_lru()
            .is_some_and(|(_, (_, at))| at.elapsed() >= self.lifetime)
        {
            entries.pop_lru();
        }
    }

    /// Removes the entry and returns it if it has not expired.
    pub fn take(&self, key: &str) -> Option<V> {
        let (value, at) = self.lock().pop(key)?;
        (at.elapsed() < self.lifetime).then_some(value)
    }

    /// Runs `f` on the live entry under `key`, without making it any younger.
    pub fn with<R>(&self, key: &str, f: impl FnOnce(&mut V) -> R) -> Option<R> {
        let mut entries = self.lock();
        let (value, at) = entries.peek_mut(key)?;
        (at.elapsed() < self.lifetime).then(|| f(value))
    }

    #[cfg(feature = "stand-in-providers")]
    pub fn remove(&self, key: &str) {
        self.lock().pop(key);
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_store_forgets_its_oldest_entry() {
        let store = BoundedStore::new(3, Duration::from_secs(60));
        for key in ["a", "b", "c", "d"] {
            store.insert(key.into(), key.to_uppercase());
        }
        assert_eq!(store.len(), 3);
        assert_eq!(store.take("a"), None, "evicted");
        assert_eq!(store.with("b", |v| v.clone()), Some("B".into()));
        // Reading does not make "b" younger: it is still the next to go.
        store.insert("e".into(), "E".into());
        assert_eq!(store.take("b"), None);
        assert_eq!(store.take("e"), Some("E".into()));
        assert_eq!(store.take("e"), None, "taken once");
    }

    #[test]
    fn insert_new_stores_a_key_once_while_it_lives() {
        let store = BoundedStore::new(10, Duration::from_millis(30));
        assert!(store.insert_new("nonce".into(), ()));
        assert!(!store.insert_new("nonce".into(), ()));
        std::thread::sleep(Duration::from_millis(40));
        assert!(
            store.insert_new("nonce".into(), ()),
            "forgotten once expired"
        );
    }

    #[test]
    fn expired_entries_are_neither_returned_nor_kept() {
        let store = BoundedStore::new(100, Duration::from_millis(30));
        store.insert("old".into(), 1);
        store.insert("older".into(), 2);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(store.with("old", |v| *v), None);
        store.insert("new".into(), 3);
        assert_eq!(store.len(), 1, "the expired ones went when a new one came");
        assert_eq!(store.take("new"), Some(3));
    }
}
