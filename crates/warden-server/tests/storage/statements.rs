//! Every statement the storage can run, prepared on a migrated database of each backend:
//! a typo, a missing column or a dialect slip fails here even in a statement no other test
//! executes. Both backends must also see the same statements, with as many parameters and
//! the same result columns (one row type decodes both).

use std::collections::BTreeMap;

use sqlx::{AssertSqlSafe, Column, Either, Executor, SqlSafeStr, Statement};

use super::{SqliteStorage, fresh_postgres, fresh_sqlite, run_on_both};
use warden_server::storage::PostgresStorage;

/// What preparing a statement told: how many parameters it takes, the columns it returns.
#[derive(Debug, PartialEq, Eq)]
struct Shape {
    parameters: Option<usize>,
    columns: Vec<String>,
}

/// Prepares every statement on `pool`: each one's shape, by name, or every failure.
async fn prepare_all<'p, E>(
    pool: E,
    statements: Vec<(&'static str, String)>,
) -> Result<BTreeMap<&'static str, Shape>, Vec<String>>
where
    E: Executor<'p> + Copy,
{
    let mut shapes = BTreeMap::new();
    let mut failures = Vec::new();
    for (name, sql) in statements {
        match pool
            .prepare(AssertSqlSafe(sql.clone()).into_sql_str())
            .await
        {
            Ok(statement) => {
                let parameters = statement.parameters().map(|p| match p {
                    Either::Left(types) => types.len(),
                    Either::Right(count) => count,
                });
                let columns = statement
                    .columns()
                    .iter()
                    .map(|c| c.name().to_owned())
                    .collect();
                if shapes
                    .insert(
                        name,
                        Shape {
                            parameters,
                            columns,
                        },
                    )
                    .is_some()
                {
                    failures.push(format!("{name}: two statements of that name"));
                }
            }
            Err(e) => failures.push(format!("{name}: {e}\n    {sql}")),
        }
    }
    if failures.is_empty() {
        Ok(shapes)
    } else {
        Err(failures)
    }
}

/// The shapes, or a panic naming every statement that does not prepare on `backend`.
fn prepared(
    backend: &str,
    prepared: Result<BTreeMap<&'static str, Shape>, Vec<String>>,
) -> BTreeMap<&'static str, Shape> {
    match prepared {
        Ok(shapes) => {
            assert!(shapes.len() > 50, "{backend}: {} statements", shapes.len());
            shapes
        }
        Err(failures) => panic!(
            "{backend}: statements that do not prepare:\n{}",
            failures.join("\n")
        ),
    }
}

#[tokio::test]
async fn every_statement_prepares_on_sqlite() {
    let (s, cleanup) = fresh_sqlite().await.unwrap();
    let on_sqlite = prepare_all(s.pool(), SqliteStorage::statements()).await;
    cleanup.run().await;
    prepared("SQLite", on_sqlite);
}

#[tokio::test]
async fn every_statement_prepares_on_postgres() {
    let Some((s, cleanup)) = fresh_postgres().await else {
        return;
    };
    let on_postgres = prepare_all(s.pool(), PostgresStorage::statements()).await;
    cleanup.run().await;
    prepared("PostgreSQL", on_postgres);
}

#[tokio::test]
async fn both_backends_prepare_the_same_statements_alike() {
    run_on_both(|sqlite, postgres| async move {
        let on_sqlite = prepared(
            "SQLite",
            prepare_all(sqlite.pool(), SqliteStorage::statements()).await,
        );
        let on_postgres = prepared(
            "PostgreSQL",
            prepare_all(postgres.pool(), PostgresStorage::statements()).await,
        );
        // The dialects' own statements (PostgreSQL's advisory locks) have no counterpart.
        let own = ["LOCK_FIRST_SIGNING_KEY", "LOCK_REFRESH_FAMILY"];
        let shared = |shapes: &BTreeMap<&'static str, Shape>| -> Vec<&'static str> {
            shapes
                .keys()
                .copied()
                .filter(|n| !own.contains(n))
                .collect()
        };
        assert_eq!(shared(&on_sqlite), shared(&on_postgres));
        let differences: Vec<String> = on_sqlite
            .iter()
            .filter(|(name, shape)| on_postgres.get(*name) != Some(shape))
            .map(|(name, shape)| {
                format!(
                    "{name}: SQLite {shape:?}, PostgreSQL {:?}",
                    on_postgres.get(name)
                )
            })
            .collect();
        assert!(
            differences.is_empty(),
            "statements whose parameters or columns differ:\n{}",
            differences.join("\n")
        );
    })
    .await;
}

/// sqlx's SQLite driver binds `$N` by its number, as PostgreSQL does: the premise of
/// writing every statement once.
#[tokio::test]
async fn sqlite_binds_numbered_placeholders_by_number() {
    let s = SqliteStorage::connect("sqlite::memory:").await.unwrap();
    let row: (String, String, String) = sqlx::query_as("SELECT $2, $1, $1 || $2 || $1")
        .bind("first")
        .bind("second")
        .fetch_one(s.pool())
        .await
        .unwrap();
    s.close().await;
    assert_eq!(
        row,
        ("second".into(), "first".into(), "firstsecondfirst".into())
    );
}
