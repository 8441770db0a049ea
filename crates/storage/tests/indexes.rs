//! Label and label+property indexes, and constraints: what reads through an index return
//! compared with a filtered scan, across snapshots, updates, GC sweeps and concurrent writers.

use std::ops::Bound::{self, Excluded, Included, Unbounded};
use std::sync::Arc;

use storage::{
    ConstraintInfo, Gid, LabelId, PropertyId, PropertyValue, Storage, StorageConfig, StorageError,
    Transaction,
};

fn setup() -> (Arc<Storage>, LabelId, PropertyId) {
    let storage = Storage::new(StorageConfig::manual_gc());
    let (person, age) = (storage.label("Person"), storage.property("age"));
    (storage, person, age)
}

fn person(tx: &mut Transaction, label: LabelId, key: PropertyId, value: PropertyValue) -> Gid {
    let v = tx.create_vertex();
    tx.add_label(v, label).unwrap();
    tx.set_vertex_property(v, key, value).unwrap();
    v
}

fn seek(
    tx: &Transaction,
    l: LabelId,
    k: PropertyId,
    lo: Bound<PropertyValue>,
    hi: Bound<PropertyValue>,
) -> Vec<Gid> {
    let mut gids: Vec<Gid> = tx
        .vertices_by_label_property(l, k, lo, hi)
        .expect("index is ready")
        .collect();
    gids.sort_unstable();
    gids
}

/// An equality seek, through both ways of making one; they must agree (the iterator's order is
/// ascending by gid for one value, as the direct seek's).
fn eq(tx: &Transaction, l: LabelId, k: PropertyId, v: impl Into<PropertyValue>) -> Vec<Gid> {
    let v = v.into();
    let iterated: Vec<Gid> = tx
        .vertices_by_label_property(l, k, Included(v.clone()), Included(v.clone()))
        .expect("index is ready")
        .collect();
    let mut direct = vec![12345];
    match tx.vertices_by_label_property_eq(l, k, &v, &mut direct) {
        Some(()) => assert_eq!(direct, iterated, "direct and iterated seeks of {v:?}"),
        // More entries hold the value than the direct seek takes (visible or not).
        None => assert!(direct.is_empty(), "{v:?}"),
    }
    let mut gids = iterated;
    gids.sort_unstable();
    gids
}

#[test]
fn index_built_over_existing_data_answers_equality_and_ranges() {
    let (storage, label, age) = setup();
    let mut tx = storage.begin();
    let ages: Vec<Gid> = (0..100)
        .map(|i| person(&mut tx, label, age, PropertyValue::Int(i % 50)))
        .collect();
    let float = person(&mut tx, label, age, PropertyValue::Float(7.0));
    let text = person(&mut tx, label, age, "seven".into());
    let other = tx.create_vertex();
    tx.set_vertex_property(other, age, PropertyValue::Int(7))
        .unwrap();
    tx.commit().unwrap();

    let reader = storage.begin();
    assert!(reader
        .vertices_by_label_property(label, age, Unbounded, Unbounded)
        .is_none());
    assert!(storage.create_index(label, Some(age)).unwrap());
    assert!(
        !storage.create_index(label, Some(age)).unwrap(),
        "idempotent"
    );
    assert!(storage.has_label_property_index(label, age));

    let tx = storage.begin();
    // 7 and 7.0 are one key; the unlabelled vertex is not in the index.
    assert_eq!(eq(&tx, label, age, 7), vec![ages[7], ages[57], float]);
    assert_eq!(eq(&tx, label, age, 7.0), vec![ages[7], ages[57], float]);
    assert_eq!(eq(&tx, label, age, "seven"), vec![text]);
    assert_eq!(eq(&tx, label, age, 99), Vec::<Gid>::new());
    assert_eq!(eq(&tx, label, age, PropertyValue::Null), Vec::<Gid>::new());
    // 45 <= age < 47.5: numbers only, never the string.
    let range = seek(&tx, label, age, Included(45.into()), Excluded(47.5.into()));
    assert_eq!(
        range,
        vec![ages[45], ages[46], ages[47], ages[95], ages[96], ages[97]]
    );
    // Open-ended ranges stay within the bound's class.
    let above = seek(&tx, label, age, Excluded(48.into()), Unbounded);
    assert_eq!(above, vec![ages[49], ages[99]]);
    let strings = seek(&tx, label, age, Included("a".into()), Unbounded);
    assert_eq!(strings, vec![text]);
    // Inverted and mixed-class ranges are empty, not a panic.
    assert!(seek(&tx, label, age, Included(5.into()), Included(1.into())).is_empty());
    assert!(seek(&tx, label, age, Excluded(5.into()), Excluded(5.into())).is_empty());
    assert!(seek(&tx, label, age, Included(1.into()), Included("z".into())).is_empty());
    // Results come in value order.
    let all: Vec<Gid> = tx
        .vertices_by_label_property(label, age, Included(0.into()), Included(1.into()))
        .unwrap()
        .collect();
    assert_eq!(all, vec![ages[0], ages[50], ages[1], ages[51]]);
}

#[test]
fn index_reads_respect_snapshots_and_own_writes() {
    let (storage, label, age) = setup();
    storage.create_index(label, Some(age)).unwrap();
    let mut tx = storage.begin();
    let a = person(&mut tx, label, age, 1.into());
    tx.commit().unwrap();

    let old = storage.begin();
    let mut writer = storage.begin();
    writer.set_vertex_property(a, age, 2.into()).unwrap();
    let b = person(&mut writer, label, age, 1.into());
    // The writer sees its own version; the old reader does not see it.
    assert_eq!(eq(&writer, label, age, 2), vec![a]);
    assert_eq!(eq(&writer, label, age, 1), vec![b]);
    assert_eq!(eq(&old, label, age, 1), vec![a]);
    assert_eq!(eq(&old, label, age, 2), Vec::<Gid>::new());
    writer.commit().unwrap();
    assert_eq!(eq(&old, label, age, 1), vec![a], "snapshot is stable");

    let mut remover = storage.begin();
    remover.remove_label(a, label).unwrap();
    remover.delete_vertex(b, false).unwrap();
    remover.commit().unwrap();
    let now = storage.begin();
    assert!(eq(&now, label, age, 1).is_empty());
    assert!(eq(&now, label, age, 2).is_empty());
    assert_eq!(eq(&old, label, age, 1), vec![a]);

    // An aborted write leaves nothing visible.
    let mut aborted = storage.begin();
    person(&mut aborted, label, age, 5.into());
    aborted.abort();
    assert!(eq(&storage.begin(), label, age, 5).is_empty());
}

#[test]
fn label_index_serves_label_scans() {
    let (storage, label, age) = setup();
    let other = storage.label("Other");
    let mut tx = storage.begin();
    let people: Vec<Gid> = (0..10)
        .map(|i| person(&mut tx, label, age, i.into()))
        .collect();
    let o = tx.create_vertex();
    tx.add_label(o, other).unwrap();
    tx.commit().unwrap();
    assert!(storage.create_index(label, None).unwrap());
    assert!(storage.has_label_index(label));
    let tx = storage.begin();
    assert_eq!(tx.vertices_with_label(label).collect::<Vec<_>>(), people);
    let mut writer = storage.begin();
    writer.remove_label(people[3], label).unwrap();
    let new = writer.create_vertex();
    writer.add_label(new, label).unwrap();
    writer.commit().unwrap();
    let mut expected = people.clone();
    expected.remove(3);
    expected.push(new);
    assert_eq!(
        storage
            .begin()
            .vertices_with_label(label)
            .collect::<Vec<_>>(),
        expected
    );
    assert_eq!(tx.vertices_with_label(label).collect::<Vec<_>>(), people);
    let info = storage.index_info();
    assert_eq!(info.len(), 1);
    assert_eq!(info[0].property, None);
    assert_eq!(info[0].count, 10);
    assert!(storage.drop_index(label, None).unwrap());
    assert!(!storage.drop_index(label, None).unwrap());
    assert!(!storage.has_label_index(label));
    drop(tx);
}

#[test]
fn sweep_drops_entries_no_version_needs() {
    let (storage, label, age) = setup();
    storage.create_index(label, Some(age)).unwrap();
    let mut tx = storage.begin();
    let vs: Vec<Gid> = (0..1000)
        .map(|i| person(&mut tx, label, age, i.into()))
        .collect();
    tx.commit().unwrap();
    let reader = storage.begin();
    let mut tx = storage.begin();
    for v in &vs {
        tx.set_vertex_property(*v, age, PropertyValue::Int(5000))
            .unwrap();
    }
    tx.commit().unwrap();
    let count = || storage.index_info()[0].count;
    assert_eq!(count(), 1000, "stale entries are not counted");
    // The reader still needs the old values.
    assert_eq!(storage.free_memory().index_entries_freed, 0);
    assert_eq!(eq(&reader, label, age, 10), vec![vs[10]]);
    drop(reader);
    let stats = storage.free_memory();
    assert_eq!(stats.index_entries_freed, 1000);
    assert_eq!(count(), 1000);
    assert_eq!(storage.free_memory().index_entries_freed, 0);
    assert_eq!(eq(&storage.begin(), label, age, 5000).len(), 1000);
}

#[test]
fn index_built_while_writers_run_matches_a_scan() {
    let (storage, label, age) = setup();
    let mut tx = storage.begin();
    for i in 0..20_000 {
        person(&mut tx, label, age, PropertyValue::Int(i % 100));
    }
    tx.commit().unwrap();
    let writer = {
        let storage = storage.clone();
        std::thread::spawn(move || {
            for i in 0..2_000i64 {
                let mut tx = storage.begin();
                let v = Gid::try_from(i * 7 % 20_000).unwrap();
                tx.set_vertex_property(v, age, PropertyValue::Int(1000 + i % 3))
                    .unwrap();
                person(&mut tx, label, age, PropertyValue::Int(1000 + i % 3));
                tx.commit().unwrap();
            }
        })
    };
    storage.create_index(label, Some(age)).unwrap();
    writer.join().unwrap();
    let tx = storage.begin();
    for value in [0i64, 42, 99, 1000, 1001, 1002] {
        let mut expected: Vec<Gid> = tx
            .vertices_with_label(label)
            .filter(|v| tx.vertex_property(*v, age).unwrap() == PropertyValue::Int(value))
            .collect();
        expected.sort_unstable();
        assert_eq!(eq(&tx, label, age, value), expected, "value {value}");
    }
}

#[test]
fn existence_constraint_fails_the_commit() {
    let (storage, label, age) = setup();
    assert!(storage.create_existence_constraint(label, age).unwrap());
    let mut tx = storage.begin();
    let v = tx.create_vertex();
    tx.add_label(v, label).unwrap();
    let err = tx.commit().unwrap_err();
    assert_eq!(
        err,
        StorageError::Constraint(
            "Unable to commit due to existence constraint violation on :Person(age)".into()
        )
    );
    assert_eq!(storage.begin().vertices().count(), 0, "nothing applied");
    let mut tx = storage.begin();
    person(&mut tx, label, age, 3.into());
    tx.commit().unwrap();
    // Removing the property of an existing vertex is checked too.
    let mut tx = storage.begin();
    tx.set_vertex_property(0, age, PropertyValue::Null).ok();
    let v = storage.begin().vertices().next().unwrap();
    tx.set_vertex_property(v, age, PropertyValue::Null).unwrap();
    assert!(matches!(tx.commit(), Err(StorageError::Constraint(_))));
    assert_eq!(
        storage.constraint_info(),
        vec![ConstraintInfo::Exists {
            label,
            property: age
        }]
    );
    storage
        .drop_constraint(&ConstraintInfo::Exists {
            label,
            property: age,
        })
        .unwrap();
    assert!(storage
        .drop_constraint(&ConstraintInfo::Exists {
            label,
            property: age
        })
        .is_err());
}

#[test]
fn existence_constraint_over_violating_data_is_refused() {
    let (storage, label, age) = setup();
    let mut tx = storage.begin();
    let v = tx.create_vertex();
    tx.add_label(v, label).unwrap();
    tx.commit().unwrap();
    let err = storage.create_existence_constraint(label, age).unwrap_err();
    assert!(
        err.to_string()
            .contains("because an existing node violates it"),
        "{err}"
    );
    assert!(storage.constraint_info().is_empty());
}

#[test]
fn unique_constraint_checks_committed_and_own_vertices() {
    let (storage, label, age) = setup();
    assert!(storage.create_unique_constraint(label, vec![age]).unwrap());
    let mut tx = storage.begin();
    let a = person(&mut tx, label, age, 1.into());
    tx.commit().unwrap();

    // A second vertex with an equal value (1.0 == 1) is refused.
    let mut tx = storage.begin();
    person(&mut tx, label, age, 1.0.into());
    let err = tx.commit().unwrap_err();
    assert_eq!(
        err.to_string(),
        "Unable to commit due to unique constraint violation on :Person(age)"
    );
    // Two in one transaction are refused.
    let mut tx = storage.begin();
    person(&mut tx, label, age, 2.into());
    person(&mut tx, label, age, 2.into());
    assert!(matches!(tx.commit(), Err(StorageError::Constraint(_))));
    // Moving the old one away first makes room.
    let mut tx = storage.begin();
    tx.set_vertex_property(a, age, 10.into()).unwrap();
    person(&mut tx, label, age, 1.into());
    tx.commit().unwrap();
    // Without the label there is no constraint.
    let mut tx = storage.begin();
    let free = tx.create_vertex();
    tx.set_vertex_property(free, age, 1.into()).unwrap();
    tx.commit().unwrap();
}

#[test]
fn concurrent_unique_inserts_commit_once() {
    let (storage, label, age) = setup();
    storage.create_unique_constraint(label, vec![age]).unwrap();
    let mut first = storage.begin();
    let mut second = storage.begin();
    person(&mut first, label, age, 7.into());
    person(&mut second, label, age, 7.into());
    first.commit().unwrap();
    assert!(matches!(second.commit(), Err(StorageError::Constraint(_))));
    let tx = storage.begin();
    assert_eq!(tx.vertices().count(), 1);
}

#[test]
fn unique_constraint_over_duplicates_is_refused_and_multi_property_works() {
    let (storage, label, age) = setup();
    let name = storage.property("name");
    let mut tx = storage.begin();
    for _ in 0..2 {
        let v = person(&mut tx, label, age, 1.into());
        tx.set_vertex_property(v, name, "x".into()).unwrap();
    }
    let v = person(&mut tx, label, age, 1.into());
    tx.set_vertex_property(v, name, "y".into()).unwrap();
    tx.commit().unwrap();
    assert!(storage.create_unique_constraint(label, vec![age]).is_err());
    assert!(storage
        .create_unique_constraint(label, vec![age, name])
        .is_err());
    let mut tx = storage.begin();
    tx.set_vertex_property(0, name, "z".into()).unwrap();
    tx.commit().unwrap();
    assert!(storage
        .create_unique_constraint(label, vec![name, age])
        .unwrap());
    let mut tx = storage.begin();
    let v = person(&mut tx, label, age, 1.into());
    tx.set_vertex_property(v, name, "y".into()).unwrap();
    assert!(tx.commit().is_err());
    let mut tx = storage.begin();
    let v = person(&mut tx, label, age, 2.into());
    tx.set_vertex_property(v, name, "y".into()).unwrap();
    tx.commit().unwrap();
}

/// Seeks skip re-reading a vertex's attributes when nothing could have left a stale entry of
/// it behind: every way an entry goes stale must still be caught once GC emptied the delta
/// chains and before a sweep removed the entries (a large index is not swept for a few).
#[test]
fn stale_entries_never_match_once_gc_emptied_the_chains() {
    let (storage, label, age) = setup();
    let other = storage.label("Other");
    storage.create_index(label, Some(age)).unwrap();
    let mut tx = storage.begin();
    let vs: Vec<Gid> = (0..1000)
        .map(|i| person(&mut tx, label, age, i.into()))
        .collect();
    let unlabelled = tx.create_vertex();
    tx.set_vertex_property(unlabelled, age, PropertyValue::Int(5000))
        .unwrap();
    let ageless = tx.create_vertex();
    tx.add_label(ageless, label).unwrap();
    tx.commit().unwrap();

    // Committed: a changed value, a removed value, a removed label, a deleted vertex.
    let mut tx = storage.begin();
    tx.set_vertex_property(vs[1], age, PropertyValue::Int(2001))
        .unwrap();
    tx.set_vertex_property(vs[2], age, PropertyValue::Null)
        .unwrap();
    tx.remove_label(vs[3], label).unwrap();
    tx.delete_vertex(vs[4], false).unwrap();
    tx.commit().unwrap();
    // Aborted: a set value, an added label, a created vertex.
    let mut tx = storage.begin();
    tx.set_vertex_property(vs[5], age, PropertyValue::Int(2005))
        .unwrap();
    tx.add_label(unlabelled, label).unwrap();
    tx.set_vertex_property(ageless, age, PropertyValue::Int(2007))
        .unwrap();
    let ghost = person(&mut tx, label, age, PropertyValue::Int(2006));
    tx.abort();
    // Labels on a vertex that keep its entries exact.
    let mut tx = storage.begin();
    tx.add_label(vs[6], other).unwrap();
    tx.commit().unwrap();
    let stats = storage.gc();
    assert!(stats.deltas_freed > 0);
    assert_eq!(
        stats.index_entries_freed, 0,
        "this test is about entries left unswept"
    );

    let tx = storage.begin();
    assert_eq!(eq(&tx, label, age, 1), Vec::<Gid>::new(), "changed");
    assert_eq!(eq(&tx, label, age, 2001), vec![vs[1]]);
    assert_eq!(eq(&tx, label, age, 2), Vec::<Gid>::new(), "removed value");
    assert_eq!(eq(&tx, label, age, 3), Vec::<Gid>::new(), "removed label");
    assert_eq!(eq(&tx, label, age, 4), Vec::<Gid>::new(), "deleted");
    assert_eq!(eq(&tx, label, age, 5), vec![vs[5]], "aborted set");
    assert_eq!(eq(&tx, label, age, 2005), Vec::<Gid>::new(), "aborted set");
    assert_eq!(
        eq(&tx, label, age, 5000),
        Vec::<Gid>::new(),
        "aborted label"
    );
    assert_eq!(
        eq(&tx, label, age, 2006),
        Vec::<Gid>::new(),
        "aborted create"
    );
    assert_eq!(
        eq(&tx, label, age, 2007),
        Vec::<Gid>::new(),
        "aborted first value"
    );
    assert_eq!(eq(&tx, label, age, 6), vec![vs[6]]);
    assert_eq!(eq(&tx, label, age, 7), vec![vs[7]]);
    assert!(!vs.contains(&ghost));
    // The whole index agrees with a filtered scan.
    let all = seek(&tx, label, age, Included(i64::MIN.into()), Unbounded);
    let scanned: Vec<Gid> = tx
        .vertices()
        .filter(|&v| {
            tx.vertex_has_label(v, label).unwrap() && !tx.vertex_property(v, age).unwrap().is_null()
        })
        .collect();
    assert_eq!(all, scanned);
}

/// The direct equality seek hands a value held by many vertices to the iterator, sees what its
/// transaction sees, and says when there is no ready index.
#[test]
fn direct_equality_seeks_agree_with_the_iterator() {
    let (storage, label, age) = setup();
    let other = storage.property("other");
    let mut tx = storage.begin();
    let vs: Vec<Gid> = (0..500)
        .map(|i| {
            person(
                &mut tx,
                label,
                age,
                PropertyValue::Int(i % 100 + (i / 450) * 1000),
            )
        })
        .collect();
    tx.commit().unwrap();
    let mut out = Vec::new();
    assert!(storage
        .begin()
        .vertices_by_label_property_eq(label, age, &PropertyValue::Int(1), &mut out)
        .is_none());
    storage.create_index(label, Some(age)).unwrap();
    let reader = storage.begin();
    // 4 or 5 holders of 0..=99 (the last 50 vertices hold 1000..=1049 instead), 1 of 1000.
    let mut writer = storage.begin();
    for v in &vs[..10] {
        writer
            .set_vertex_property(*v, age, PropertyValue::Int(7))
            .unwrap();
    }
    for _ in 0..70 {
        person(&mut writer, label, age, PropertyValue::Int(8));
    }
    for tx in [&reader, &writer] {
        for value in [0, 1, 7, 8, 99, 1000, 1049, 1050, -1] {
            let found = eq(tx, label, age, value);
            let expected: Vec<Gid> = tx
                .vertices()
                .filter(|&v| tx.vertex_property(v, age).unwrap() == PropertyValue::Int(value))
                .collect();
            assert_eq!(found, expected, "{value}");
        }
        assert_eq!(eq(tx, label, age, 1.0), eq(tx, label, age, 1));
        assert_eq!(eq(tx, label, age, PropertyValue::Null), Vec::<Gid>::new());
        assert_eq!(eq(tx, label, age, "1"), Vec::<Gid>::new());
        assert!(tx
            .vertices_by_label_property_eq(label, other, &PropertyValue::Int(1), &mut out)
            .is_none());
    }
    // A value few entries hold is sought directly.
    for (tx, holders) in [(&reader, 5), (&writer, 4)] {
        assert!(tx
            .vertices_by_label_property_eq(label, age, &PropertyValue::Int(1), &mut out)
            .is_some());
        assert_eq!(out.len(), holders, "the writer moved vs[1] to 7");
    }
    // The writer's 70 entries of 8 are more than the direct seek takes at once.
    assert!(writer
        .vertices_by_label_property_eq(label, age, &PropertyValue::Int(8), &mut out)
        .is_none());
    assert!(out.is_empty());
}
