//! Object ids and the interning tables for labels, edge types and property keys.
//!
//! Names are interned once per [`Storage`](crate::Storage) and never forgotten: an id is an index
//! into an append-only name list, so `name(id)` is a read-locked vector index and `intern(name)`
//! takes the write lock only the first time a name is seen.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

/// Vertex and edge ids. Vertices and edges are separate id spaces, each assigned 0, 1, 2, ... in
/// creation order by one storage; an id is never reused (aborted creations leave a hole).
pub type Gid = u64;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u32);
    };
}

id_type!(
    /// An interned vertex label (`:Person`).
    LabelId
);
id_type!(
    /// An interned relationship type (`[:KNOWS]`).
    EdgeTypeId
);
id_type!(
    /// An interned property key (`.name`).
    PropertyId
);

/// One interning table: name <-> dense `u32` id.
#[derive(Default)]
pub(crate) struct NameTable {
    inner: RwLock<Names>,
}

#[derive(Default)]
struct Names {
    ids: HashMap<Arc<str>, u32>,
    names: Vec<Arc<str>>,
}

impl NameTable {
    /// The id of `name`, creating it if absent.
    pub(crate) fn intern(&self, name: &str) -> u32 {
        if let Some(id) = self.find(name) {
            return id;
        }
        let mut names = self.inner.write();
        // Another thread may have interned it between our read and write lock.
        if let Some(&id) = names.ids.get(name) {
            return id;
        }
        let id = u32::try_from(names.names.len()).expect("more than 2^32 distinct names");
        let name: Arc<str> = Arc::from(name);
        names.names.push(name.clone());
        names.ids.insert(name, id);
        id
    }

    /// The id of `name` if it was interned.
    pub(crate) fn find(&self, name: &str) -> Option<u32> {
        self.inner.read().ids.get(name).copied()
    }

    /// The name of `id`, if this table handed it out.
    pub(crate) fn name(&self, id: u32) -> Option<Arc<str>> {
        self.inner.read().names.get(id as usize).cloned()
    }

    /// How many names are interned.
    pub(crate) fn len(&self) -> usize {
        self.inner.read().names.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_is_idempotent_and_dense() {
        let table = NameTable::default();
        assert_eq!(table.find("a"), None);
        assert_eq!(table.intern("a"), 0);
        assert_eq!(table.intern("b"), 1);
        assert_eq!(table.intern("a"), 0);
        assert_eq!(table.find("b"), Some(1));
        assert_eq!(table.name(1).as_deref(), Some("b"));
        assert_eq!(table.name(2), None);
        assert_eq!(table.len(), 2);
    }
}
