//! The synthetic social graph of the social benchmarks, generated deterministically from a seed.
//!
//! `n` `:Person {id, name, age}` nodes with ids `0..n`, and `m` `:KNOWS` relationships drawn
//! uniformly at random by a seeded SplitMix64: the source and the destination are uniform over
//! the ids, never equal (no self loops), and the same pair may be drawn more than once
//! (duplicate relationships are allowed, as separate relationships: they count twice in an
//! out-degree). A person's name and age are functions of `(seed, id)` alone, so they can be
//! recomputed without the graph.
//!
//! The same [`SocialGraph`] is written as CSV by `generate`, loaded over Bolt by `load`, and
//! answers what every benchmark query must return.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{ensure, Context, Result};

/// Youngest age generated.
pub const MIN_AGE: i64 = 18;
/// Oldest age generated (inclusive).
pub const MAX_AGE: i64 = 80;

const FIRST_NAMES: [&str; 32] = [
    "Ada",
    "Alan",
    "Barbara",
    "Brian",
    "Claude",
    "Donald",
    "Edsger",
    "Frances",
    "Grace",
    "Guido",
    "Hedy",
    "Ivan",
    "Jean",
    "John",
    "Ken",
    "Leslie",
    "Linus",
    "Margaret",
    "Niklaus",
    "Ole",
    "Peter",
    "Radia",
    "Robin",
    "Shafi",
    "Sophie",
    "Tim",
    "Tony",
    "Ursula",
    "Vint",
    "Whitfield",
    "Yukihiro",
    "Zhores",
];

const LAST_NAMES: [&str; 32] = [
    "Allen",
    "Backus",
    "Cerf",
    "Dijkstra",
    "Engelbart",
    "Floyd",
    "Goldwasser",
    "Hopper",
    "Iverson",
    "Jones",
    "Kay",
    "Lamport",
    "Liskov",
    "Milner",
    "Naur",
    "Ousterhout",
    "Perlman",
    "Hamilton",
    "Ritchie",
    "Shannon",
    "Thompson",
    "Turing",
    "Ullman",
    "Valiant",
    "Wirth",
    "Xu",
    "Yao",
    "Zuse",
    "Hoare",
    "Knuth",
    "Lovelace",
    "Hennessy",
];

/// SplitMix64: tiny, fast and good enough for benchmark data; the same seed always gives the
/// same sequence on every platform.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// Uniform in `0..bound` (`bound > 0`), by multiply-shift.
    pub fn below(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }

    /// True with probability `percent / 100`.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// SplitMix64's finaliser: a bijective 64-bit hash.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The name of person `id`: "First Last", chosen by a hash of `(seed, id)` (not unique).
pub fn person_name(seed: u64, id: u64) -> String {
    let h = mix(seed ^ mix(id.wrapping_add(1)));
    let first = FIRST_NAMES[(h % 32) as usize];
    let last = LAST_NAMES[((h >> 8) % 32) as usize];
    format!("{first} {last}")
}

/// The age of person `id`, in `MIN_AGE..=MAX_AGE`.
pub fn person_age(seed: u64, id: u64) -> i64 {
    let h = mix(mix(seed.rotate_left(17) ^ id));
    MIN_AGE + (h % (MAX_AGE - MIN_AGE + 1) as u64) as i64
}

/// The generated graph, with its relationships also indexed by source (CSR) for the answers.
pub struct SocialGraph {
    pub seed: u64,
    pub nodes: u64,
    /// `(src, dst)` in generation order (the order they are written and loaded in).
    pub edges: Vec<(u32, u32)>,
    /// `targets[offsets[v]..offsets[v + 1]]` are the destinations of `v`'s relationships.
    offsets: Vec<u32>,
    targets: Vec<u32>,
}

impl SocialGraph {
    /// Generates `nodes` persons and `edges` relationships from `seed`.
    pub fn generate(nodes: u64, edges: u64, seed: u64) -> Result<SocialGraph> {
        ensure!(nodes <= u64::from(u32::MAX), "at most {} nodes", u32::MAX);
        ensure!(edges < u64::from(u32::MAX), "fewer than {} edges", u32::MAX);
        ensure!(
            edges == 0 || nodes >= 2,
            "relationships need at least 2 nodes"
        );
        // The edge stream has its own seed so that it does not correlate with names and ages.
        let mut rng = Rng::new(mix(seed ^ 0x4B4E_4F57_5321));
        let list: Vec<(u32, u32)> = (0..edges)
            .map(|_| {
                let src = rng.below(nodes);
                let mut dst = rng.below(nodes - 1);
                if dst >= src {
                    dst += 1;
                }
                (src as u32, dst as u32)
            })
            .collect();
        let mut offsets = vec![0u32; nodes as usize + 1];
        for &(s, _) in &list {
            offsets[s as usize + 1] += 1;
        }
        for i in 0..nodes as usize {
            offsets[i + 1] += offsets[i];
        }
        let mut fill = offsets.clone();
        let mut targets = vec![0u32; list.len()];
        for &(s, d) in &list {
            targets[fill[s as usize] as usize] = d;
            fill[s as usize] += 1;
        }
        Ok(SocialGraph {
            seed,
            nodes,
            edges: list,
            offsets,
            targets,
        })
    }

    pub fn name(&self, id: u64) -> String {
        person_name(self.seed, id)
    }

    pub fn age(&self, id: u64) -> i64 {
        person_age(self.seed, id)
    }

    /// Destinations of `id`'s outgoing relationships (with duplicates).
    pub fn out(&self, id: u64) -> &[u32] {
        let (a, b) = (self.offsets[id as usize], self.offsets[id as usize + 1]);
        &self.targets[a as usize..b as usize]
    }

    /// What `MATCH (:Person {id: $id})-[:KNOWS]->()-[:KNOWS]->(f) RETURN count(DISTINCT f)`
    /// returns: the distinct ends of two-relationship paths from `id`. Relationship uniqueness
    /// within the pattern would forbid using one relationship twice, but with no self loops
    /// the two relationships of such a path always differ, so nothing is excluded: `id` itself
    /// counts when some friend knows it back. `seen` is scratch space of `nodes` entries.
    pub fn two_hop_distinct(&self, id: u64, seen: &mut Vec<bool>) -> i64 {
        seen.resize(self.nodes as usize, false);
        let mut count = 0;
        for &mid in self.out(id) {
            for &f in self.out(u64::from(mid)) {
                if !seen[f as usize] {
                    seen[f as usize] = true;
                    count += 1;
                }
            }
        }
        // Clear only what this call marked, so the next call starts clean.
        for &mid in self.out(id) {
            for &f in self.out(u64::from(mid)) {
                seen[f as usize] = false;
            }
        }
        count
    }

    /// `MATCH (p:Person) RETURN p.age / 10 AS b, count(*) ORDER BY b`: `(bucket, count)`.
    pub fn age_histogram(&self) -> Vec<(i64, i64)> {
        let mut counts = vec![0i64; (MAX_AGE / 10 + 1) as usize];
        for id in 0..self.nodes {
            counts[(self.age(id) / 10) as usize] += 1;
        }
        counts
            .into_iter()
            .enumerate()
            .filter(|&(_, c)| c > 0)
            .map(|(b, c)| (b as i64, c))
            .collect()
    }

    /// Writes `persons.csv` (`id,name,age`) and `knows.csv` (`src,dst`) into `dir`.
    pub fn write_csv(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join("persons.csv");
        let mut w = BufWriter::with_capacity(1 << 20, File::create(&path)?);
        writeln!(w, "id,name,age")?;
        for id in 0..self.nodes {
            writeln!(w, "{id},{},{}", self.name(id), self.age(id))?;
        }
        w.flush()
            .with_context(|| format!("writing {}", path.display()))?;
        let path = dir.join("knows.csv");
        let mut w = BufWriter::with_capacity(1 << 20, File::create(&path)?);
        writeln!(w, "src,dst")?;
        for &(s, d) in &self.edges {
            writeln!(w, "{s},{d}")?;
        }
        w.flush()
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_without_self_loops() {
        let a = SocialGraph::generate(100, 1000, 7).unwrap();
        let b = SocialGraph::generate(100, 1000, 7).unwrap();
        assert_eq!(a.edges, b.edges);
        assert!(a.edges.iter().all(|&(s, d)| s != d && s < 100 && d < 100));
        assert_eq!((0..100).map(|v| a.out(v).len()).sum::<usize>(), 1000);
        assert!((0..100).all(|v| (MIN_AGE..=MAX_AGE).contains(&a.age(v))));
    }

    #[test]
    fn csv_files_have_headers_and_one_line_per_entity() {
        let g = SocialGraph::generate(50, 120, 3).unwrap();
        let dir = std::env::temp_dir().join(format!("ferrograph-bench-csv-{}", std::process::id()));
        g.write_csv(&dir).unwrap();
        let persons = std::fs::read_to_string(dir.join("persons.csv")).unwrap();
        let knows = std::fs::read_to_string(dir.join("knows.csv")).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let persons: Vec<&str> = persons.lines().collect();
        assert_eq!(persons[0], "id,name,age");
        assert_eq!(persons.len(), 51);
        assert_eq!(persons[8], format!("7,{},{}", g.name(7), g.age(7)));
        // Names need no CSV quoting.
        assert!(persons
            .iter()
            .all(|l| l.split(',').count() == 3 && !l.contains('"')));
        let knows: Vec<&str> = knows.lines().collect();
        assert_eq!(knows[0], "src,dst");
        assert_eq!(knows.len(), 121);
        assert_eq!(knows[1], format!("{},{}", g.edges[0].0, g.edges[0].1));
    }

    #[test]
    fn histogram_counts_every_person_once() {
        let g = SocialGraph::generate(1000, 0, 9).unwrap();
        let h = g.age_histogram();
        assert_eq!(h.iter().map(|&(_, c)| c).sum::<i64>(), 1000);
        assert_eq!(h.first().unwrap().0, 1);
        assert_eq!(h.last().unwrap().0, 8);
    }

    #[test]
    fn two_hop_counts_distinct_ends_including_the_start() {
        // 0->1, 0->2, 1->0, 1->3, 2->3: ends {0, 3}.
        let mut g = SocialGraph::generate(4, 0, 1).unwrap();
        g.offsets = vec![0, 2, 4, 5, 5];
        g.targets = vec![1, 2, 0, 3, 3];
        let mut seen = Vec::new();
        assert_eq!(g.two_hop_distinct(0, &mut seen), 2);
        assert_eq!(g.two_hop_distinct(1, &mut seen), 2); // 1->0->{1,2}: 1 and 2; 1->3: none
        assert_eq!(g.two_hop_distinct(3, &mut seen), 0);
    }
}
