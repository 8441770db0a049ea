//! A trivially correct graph value for the tests to compare the engine against.
//!
//! Labels, edge types and property keys are named `L<i>`, `T<i>` and `k<i>` and kept here as the
//! number `i`, so two storages that interned names in different orders still compare equal.

#![allow(dead_code)]

pub mod threads;

/// A storage that collects garbage after every `commits` commits (and never by change count),
/// so tests exercise GC concurrently with their transactions.
pub fn storage_with_gc_every(commits: u64) -> std::sync::Arc<Storage> {
    Storage::new(StorageConfig {
        gc_every_commits: commits,
        gc_every_changes: 0,
    })
}

use std::collections::{BTreeMap, BTreeSet};

use storage::{PropertyValue, Storage, StorageConfig, Transaction};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Graph {
    pub vertices: BTreeMap<u64, VertexModel>,
    pub edges: BTreeMap<u64, EdgeModel>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct VertexModel {
    pub labels: BTreeSet<u32>,
    pub props: BTreeMap<u32, PropertyValue>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EdgeModel {
    pub from: u64,
    pub to: u64,
    pub ty: u32,
    pub props: BTreeMap<u32, PropertyValue>,
}

/// The number in a name like `L3`.
pub fn index(name: &str) -> u32 {
    name[1..].parse().expect("test names look like L0, T1, k2")
}

/// Everything `tx` sees, by name index.
pub fn dump(tx: &Transaction) -> Graph {
    let storage = tx.storage();
    let mut graph = Graph::default();
    for v in tx.vertices() {
        let labels = tx.vertex_labels(v).unwrap();
        let props = tx.vertex_properties(v).unwrap();
        let vertex = VertexModel {
            labels: labels
                .iter()
                .map(|l| index(&storage.label_name(*l)))
                .collect(),
            props: props
                .into_iter()
                .map(|(k, value)| (index(&storage.property_name(k)), value))
                .collect(),
        };
        graph.vertices.insert(v, vertex);
        for edge in tx.out_edges(v).unwrap() {
            assert_eq!(tx.edge(edge.gid), Some(edge));
            let props = tx.edge_properties(edge.gid).unwrap();
            let model = EdgeModel {
                from: edge.from,
                to: edge.to,
                ty: index(&storage.edge_type_name(edge.ty)),
                props: props
                    .into_iter()
                    .map(|(k, value)| (index(&storage.property_name(k)), value))
                    .collect(),
            };
            graph.edges.insert(edge.gid, model);
        }
    }
    for (gid, edge) in &graph.edges {
        let incoming = tx.in_edges(edge.to).unwrap();
        assert!(
            incoming.iter().any(|e| e.gid == *gid),
            "edge {gid} missing at its target"
        );
    }
    graph
}
