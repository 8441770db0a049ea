//! Black-box tests with the neo4rs 0.8.0 driver (Bolt 4.1/4.0) against a real ferrograph process.

mod common;

use neo4rs08 as neo4rs;

async fn connect_with(
    server: &common::Server,
    max_connections: usize,
    fetch_size: usize,
) -> neo4rs::Graph {
    let config = neo4rs::ConfigBuilder::default()
        .uri(server.uri())
        .user("")
        .password("")
        .max_connections(max_connections)
        .fetch_size(fetch_size)
        .build()
        .expect("a valid config");
    neo4rs::Graph::connect(config).await.expect("connect")
}

/// A graph that logs in as `user` (the connection is made, and the login checked, now or at
/// the first query, depending on the version).
async fn connect_as(
    server: &common::Server,
    user: &str,
    password: &str,
) -> Result<neo4rs::Graph, neo4rs::Error> {
    let config = neo4rs::ConfigBuilder::default()
        .uri(server.uri())
        .user(user)
        .password(password)
        .max_connections(1)
        .build()
        .expect("a valid config");
    neo4rs::Graph::connect(config).await
}

include!("common/neo4rs_suite.rs");
