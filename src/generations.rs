//! A map with a bounded size for per-client and per-account counters: it keeps two generations
//! of at most `capacity` keys each. When the current generation is full it becomes the previous
//! one (the older is dropped), so memory stays flat under a flood of new keys, and a key is
//! forgotten only after a whole generation of other keys has passed it by; a key seen again
//! moves back into the current generation with its value.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::Hash;

pub struct Generations<K, V> {
    capacity: usize,
    current: HashMap<K, V>,
    previous: HashMap<K, V>,
}

impl<K: Hash + Eq, V> Generations<K, V> {
    pub fn new(capacity: usize) -> Self {
        Self { capacity: capacity.max(1), current: HashMap::new(), previous: HashMap::new() }
    }

    /// The value of `key`, made by `make` when neither generation holds it.
    pub fn entry(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        if self.current.len() >= self.capacity && !self.current.contains_key(&key) {
            self.previous = std::mem::take(&mut self.current);
        }
        match self.current.entry(key) {
            Entry::Occupied(held) => held.into_mut(),
            Entry::Vacant(new) => {
                let carried = self.previous.remove(new.key()).unwrap_or_else(make);
                new.insert(carried)
            }
        }
    }

    /// Keys held, both generations together.
    pub fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_of_keys_stays_within_two_generations_and_a_recent_key_keeps_its_value() {
        let mut map = Generations::new(100);
        *map.entry(-1, || 0) = 7;
        for key in 0..1000 {
            map.entry(key, || 0);
            if key == 50 {
                assert_eq!(*map.entry(-1, || 0), 7, "a key within a generation keeps its value");
            }
            assert!(map.len() <= 200);
        }
        assert_eq!(*map.entry(-1, || 0), 0, "a key two generations old is forgotten");
    }
}
