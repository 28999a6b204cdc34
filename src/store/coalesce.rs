//! Request coalescing: identical reads that arrive while one is running share the next run.
//!
//! When many requests ask for the same thing at once (the front page of the catalogue, a popular
//! movie, the session behind a busy token), running the query once for all of them saves the
//! database the repeated work. Sharing must not serve anything stale, so a request never joins a
//! run that started before it arrived: it joins the next run, which starts when the current one
//! ends. Every answer therefore reflects every write acknowledged before its request arrived,
//! exactly as if it had queried alone. Nothing is kept after a run: this is not a cache.
//!
//! Per key there is at most one run in flight and one waiting to start. If the request leading a
//! run goes away (timed out, client gone), its followers start over.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::Mutex;

use tokio::sync::watch;

pub struct Coalescer<K, V> {
    slots: Mutex<HashMap<K, Slot<V>>>,
}

/// The runs of one key, each known by the receiving side of its result channel.
struct Slot<V> {
    in_flight: Option<watch::Receiver<Option<V>>>,
    /// The run that starts when `in_flight` ends; requests arriving now join it.
    waiting: Option<watch::Receiver<Option<V>>>,
}

enum Role<V> {
    Follow(watch::Receiver<Option<V>>),
    Lead { result: watch::Sender<Option<V>>, after: Option<watch::Receiver<Option<V>>> },
}

impl<K, V> Default for Coalescer<K, V> {
    fn default() -> Self {
        Self { slots: Mutex::new(HashMap::new()) }
    }
}

impl<K, V> Coalescer<K, V>
where
    K: Hash + Eq + Clone,
    V: Clone,
{
    /// The result of `fetch`, run by this request or shared with others asking for `key` that
    /// arrived before the run started.
    pub async fn run<F, Fut>(&self, key: &K, fetch: F) -> V
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V>,
    {
        let mut fetch = Some(fetch);
        loop {
            match self.role(key) {
                Role::Follow(mut result) => {
                    if let Ok(value) = result.wait_for(Option::is_some).await
                        && let Some(value) = value.as_ref()
                    {
                        return value.clone();
                    }
                    // The leader went away without a result: take its place or follow another.
                    self.forget(key, &result);
                }
                Role::Lead { result, after } => {
                    let leading = Leading { coalescer: self, key, result: Some(result) };
                    if let Some(mut previous) = after {
                        // Whether it finished or its leader went away, it has stopped running.
                        let _ = previous.wait_for(Option::is_some).await;
                        leading.start();
                    }
                    let fetch = fetch.take().expect("a request leads at most one run");
                    let value = fetch().await;
                    leading.finish(value.clone());
                    return value;
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Slot<V>>> {
        self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn role(&self, key: &K) -> Role<V> {
        let mut slots = self.lock();
        let slot = slots.entry(key.clone()).or_insert(Slot { in_flight: None, waiting: None });
        if let Some(waiting) = &slot.waiting {
            return Role::Follow(waiting.clone());
        }
        let (result, receiver) = watch::channel(None);
        let after = slot.in_flight.clone();
        if after.is_some() {
            slot.waiting = Some(receiver);
        } else {
            slot.in_flight = Some(receiver);
        }
        Role::Lead { result, after }
    }

    /// Drops `run` from the key's slot, and the slot once it holds nothing.
    fn forget(&self, key: &K, run: &watch::Receiver<Option<V>>) {
        let mut slots = self.lock();
        let Some(slot) = slots.get_mut(key) else { return };
        for position in [&mut slot.in_flight, &mut slot.waiting] {
            if position.as_ref().is_some_and(|held| held.same_channel(run)) {
                *position = None;
            }
        }
        if slot.in_flight.is_none() && slot.waiting.is_none() {
            slots.remove(key);
        }
    }

    #[cfg(test)]
    fn keys_held(&self) -> usize {
        self.lock().len()
    }
}

/// The leader's side of a run; if dropped before `finish` (the request went away), it clears the
/// run from the slot so that followers and later requests do not wait on it.
struct Leading<'a, K: Hash + Eq + Clone, V: Clone> {
    coalescer: &'a Coalescer<K, V>,
    key: &'a K,
    result: Option<watch::Sender<Option<V>>>,
}

impl<K: Hash + Eq + Clone, V: Clone> Leading<'_, K, V> {
    /// Moves this run from waiting to in flight: from now on new requests queue behind it.
    fn start(&self) {
        let Some(result) = &self.result else { return };
        let ours = result.subscribe();
        let mut slots = self.coalescer.lock();
        let slot = slots.entry(self.key.clone()).or_insert(Slot { in_flight: None, waiting: None });
        if slot.waiting.as_ref().is_some_and(|held| held.same_channel(&ours)) {
            slot.waiting = None;
        }
        slot.in_flight = Some(ours);
    }

    fn finish(mut self, value: V) {
        if let Some(result) = self.result.take() {
            let ours = result.subscribe();
            result.send_replace(Some(value));
            self.coalescer.forget(self.key, &ours);
        }
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Drop for Leading<'_, K, V> {
    fn drop(&mut self) {
        if let Some(result) = self.result.take() {
            self.coalescer.forget(self.key, &result.subscribe());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use tokio::sync::Notify;

    use super::*;

    /// Waits (at most 5 s) until `condition` holds.
    async fn until(condition: impl Fn() -> bool) {
        let waited = tokio::time::timeout(Duration::from_secs(5), async {
            while !condition() {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        });
        waited.await.expect("condition reached within 5 s");
    }

    #[tokio::test]
    async fn a_lone_request_runs_its_own_fetch_and_leaves_nothing_behind() {
        let coalescer = Coalescer::<&str, u32>::default();
        assert_eq!(coalescer.run(&"k", || async { 7 }).await, 7);
        assert_eq!(coalescer.keys_held(), 0);
    }

    #[tokio::test]
    async fn requests_arriving_during_a_run_share_the_next_run_not_the_current_one() {
        let coalescer = Arc::new(Coalescer::<&str, usize>::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let release = Arc::new(Notify::new());
        let fetch = |runs: Arc<AtomicUsize>, release: Arc<Notify>| async move {
            let run = runs.fetch_add(1, Ordering::SeqCst) + 1;
            release.notified().await;
            run
        };
        let first = tokio::spawn({
            let (coalescer, runs, release) = (coalescer.clone(), runs.clone(), release.clone());
            async move { coalescer.run(&"k", || fetch(runs, release)).await }
        });
        until(|| runs.load(Ordering::SeqCst) == 1).await;
        let later: Vec<_> = (0..5)
            .map(|_| {
                let (coalescer, runs, release) = (coalescer.clone(), runs.clone(), release.clone());
                tokio::spawn(async move { coalescer.run(&"k", || fetch(runs, release)).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 1, "later requests wait for the run in flight to end");
        release.notify_one();
        assert_eq!(first.await.unwrap(), 1);
        until(|| runs.load(Ordering::SeqCst) == 2).await;
        release.notify_one();
        for request in later {
            let answer = tokio::time::timeout(Duration::from_secs(5), request).await.expect("answered");
            assert_eq!(answer.unwrap(), 2, "all five shared the second run");
        }
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        assert_eq!(coalescer.keys_held(), 0);
    }

    #[tokio::test]
    async fn different_keys_never_share_a_run() {
        let coalescer = Coalescer::<u32, u32>::default();
        let (a, b) = tokio::join!(coalescer.run(&1, || async { 10 }), coalescer.run(&2, || async { 20 }));
        assert_eq!((a, b), (10, 20));
    }

    #[tokio::test]
    async fn followers_of_a_leader_that_went_away_run_the_fetch_themselves() {
        let coalescer = Arc::new(Coalescer::<&str, u32>::default());
        let leader = tokio::spawn({
            let coalescer = coalescer.clone();
            async move { coalescer.run(&"k", std::future::pending::<u32>).await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        let follower = tokio::spawn({
            let coalescer = coalescer.clone();
            async move { coalescer.run(&"k", || async { 5 }).await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        leader.abort();
        let answer = tokio::time::timeout(Duration::from_secs(2), follower).await.expect("follower finished");
        assert_eq!(answer.unwrap(), 5);
        assert_eq!(coalescer.keys_held(), 0);
    }
}
