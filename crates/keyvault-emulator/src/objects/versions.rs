//! [`VersionMap`]: the versions of one secret or key, by id.

use serde::de::{Deserialize, Deserializer};
use serde::ser::{Serialize, Serializer};

/// The versions of one object by id, in id order, as a sorted vector. Most
/// objects have one or a few versions: a vector costs only its items, where
/// a B-tree allocates a node for eleven. Stored and serialized as a map.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct VersionMap<V>(Vec<(String, V)>);

impl<V> Default for VersionMap<V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<V> VersionMap<V> {
    fn position(&self, id: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(id))
    }

    /// The version `id`.
    pub(crate) fn get(&self, id: &str) -> Option<&V> {
        self.position(id).ok().map(|i| &self.0[i].1)
    }

    /// Inserts or replaces the version `id`; returns the one replaced.
    pub(crate) fn insert(&mut self, id: String, v: V) -> Option<V> {
        match self.position(&id) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, v)),
            Err(i) => {
                // A few versions grow one at a time (no spare capacity kept
                // per object); many grow as vectors do.
                if self.0.len() < 8 {
                    self.0.reserve_exact(1);
                }
                self.0.insert(i, (id, v));
                None
            }
        }
    }

    /// Inserts the version `id` unless there is one; returns whether it did.
    pub(crate) fn insert_if_absent(&mut self, id: String, v: V) -> bool {
        match self.position(&id) {
            Ok(_) => false,
            Err(_) => {
                self.insert(id, v);
                true
            }
        }
    }

    /// How many versions there are.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// Every version, in id order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// The versions after `id` (all with `None`), in id order, found by a
    /// binary search.
    pub(crate) fn after(&self, id: Option<&str>) -> impl Iterator<Item = (&String, &V)> {
        let from = id.map_or(0, |id| match self.position(id) {
            Ok(i) => i + 1,
            Err(i) => i,
        });
        self.0[from..].iter().map(|(k, v)| (k, v))
    }
}

impl<V> FromIterator<(String, V)> for VersionMap<V> {
    fn from_iter<I: IntoIterator<Item = (String, V)>>(iter: I) -> Self {
        let mut map = Self::default();
        for (id, v) in iter {
            map.insert(id, v);
        }
        map
    }
}

impl<V> IntoIterator for VersionMap<V> {
    type Item = (String, V);
    type IntoIter = std::vec::IntoIter<(String, V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<V: Serialize> Serialize for VersionMap<V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for VersionMap<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = std::collections::BTreeMap::<String, V>::deserialize(deserializer)?;
        let mut items: Vec<(String, V)> = Vec::with_capacity(map.len());
        items.extend(map);
        Ok(Self(items))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_stay_sorted_and_serialize_as_a_map() {
        let mut m: VersionMap<u32> = ["b", "a", "c"]
            .into_iter()
            .zip(1..)
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        assert_eq!(m.insert("b".into(), 9), Some(1));
        assert!(!m.insert_if_absent("a".into(), 7));
        assert!(m.insert_if_absent("d".into(), 4));
        assert_eq!(m.get("a"), Some(&2));
        assert_eq!(m.get("z"), None);
        let ids: Vec<&String> = m.after(Some("b")).map(|(k, _)| k).collect();
        assert_eq!(ids, ["c", "d"]);
        assert_eq!(m.after(Some("bb")).count(), 2);
        assert_eq!(m.after(None).count(), 4);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"a":2,"b":9,"c":3,"d":4}"#);
        let back: VersionMap<u32> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        assert_eq!(m.len(), 4);
    }
}
