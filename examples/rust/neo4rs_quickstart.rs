//! The same example with the Rust driver neo4rs.
//!
//! ```sh
//! cargo run --release -p ferrograph-examples --example neo4rs_quickstart [-- HOST:PORT]
//! ```
//!
//! The address defaults to `$FERROGRAPH_ADDR`, then `localhost:7687`.

use neo4rs::{query, Graph};

#[tokio::main]
async fn main() -> Result<(), neo4rs::Error> {
    let addr = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("FERROGRAPH_ADDR").ok())
        .unwrap_or_else(|| "localhost:7687".to_string());
    // No authentication is configured by default: any user name and password are accepted.
    let graph = Graph::new(addr, "", "")?;

    graph
        .run(
            query("CREATE (:Person {name: $a})-[:KNOWS {since: 2020}]->(:Person {name: $b})")
                .param("a", "Ann")
                .param("b", "Bob"),
        )
        .await?;

    let mut rows = graph
        .execute(query(
            "MATCH (a:Person)-[k:KNOWS]->(b:Person) RETURN a.name AS a, k.since AS since, b.name AS b",
        ))
        .await?;
    while let Some(row) = rows.next().await? {
        let a: String = row.get("a").expect("a name");
        let b: String = row.get("b").expect("a name");
        let since: i64 = row.get("since").expect("a year");
        println!("{a} knows {b} since {since}");
    }
    Ok(())
}
