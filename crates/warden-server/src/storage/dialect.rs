//! The SQL dialects: everything SQLite and PostgreSQL do differently in a statement or a
//! transaction, side by side, and nothing else.
//!
//! `queries.rs` (the statements) and `shared.rs` (the [`Storage`](super::Storage)
//! implementation) are written once and compiled once per backend, each time with one of the
//! two modules below in scope as `dialect`; the two modules define the same names. A
//! statement differs between the backends only where it invokes one of these macros, and a
//! method only where it calls one of these functions.
//!
//! | difference | SQLite | PostgreSQL |
//! |---|---|---|
//! | a write transaction starts with | `BEGIN IMMEDIATE` (takes the write lock) | `BEGIN` |
//! | a row read before it is rewritten | nothing (the write lock) | `FOR UPDATE` |
//! | a check-then-insert across connections | nothing (the write lock) | `pg_advisory_xact_lock` |
//! | a JSON array aggregate | `json_group_array` | `json_agg(…)::text`, `'[]'` for none |
//! | a list parameter | JSON text, read with `json_each` | `text[]`, read with `ANY` / `unnest` |
//!
//! Placeholders are not a difference: both drivers bind `$N` by its number.

/// SQLite: one writer at a time, so the write lock taken by [`sqlite::begin_write`] is the
/// only lock any statement needs.
pub(super) mod sqlite {
    use sqlx::{Sqlite, SqlitePool, Transaction};

    use super::super::Result;
    use super::super::rows::{db, to_json};

    /// Appended to a `SELECT` of the row a transaction is about to rewrite: nothing, as the
    /// transaction already holds the database's write lock.
    macro_rules! row_lock {
        () => {
            ""
        };
    }

    /// The JSON array (text) of `$item` (with its `ORDER BY`) over `$from` (a table and its
    /// `WHERE`): `[]` when there are no rows.
    macro_rules! json_array_agg {
        ($item:literal, $from:literal) => {
            concat!("(SELECT json_group_array(", $item, ") FROM ", $from, ")")
        };
    }

    /// `$column` is one of the strings of the list parameter `$param` (bound with
    /// [`list`]).
    macro_rules! in_list {
        ($column:literal, $param:literal) => {
            concat!($column, " IN (SELECT value FROM json_each(", $param, "))")
        };
    }

    /// The list parameter `$param` (bound with [`list`]) as a table `$alias` with the
    /// columns `value` (an item) and `key` (its position: increasing in list order).
    macro_rules! list_table {
        ($param:literal, $alias:literal) => {
            concat!("json_each(", $param, ") AS ", $alias)
        };
    }

    pub(crate) use {in_list, json_array_agg, list_table, row_lock};

    /// A list parameter's value: its JSON text.
    pub(crate) fn list(items: &[String]) -> String {
        to_json(items)
    }

    /// Starts a transaction that holds the database's write lock from its first statement to
    /// its commit: it waits for the lock (up to the busy timeout) instead of failing when
    /// another connection commits between its read and its write, and no other write runs
    /// in between.
    pub(crate) async fn begin_write(pool: &SqlitePool) -> Result<Transaction<'static, Sqlite>> {
        pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)
    }

    /// Serialises the transactions that rotate or revoke one refresh-token family: nothing
    /// to do, [`begin_write`] already serialises every write.
    pub(crate) async fn lock_refresh_family(
        _tx: &mut Transaction<'_, Sqlite>,
        _family_id: &str,
    ) -> Result<()> {
        Ok(())
    }

    /// Makes the check for a current signing key and the insert of the first one a single
    /// step across connections: nothing to do, [`begin_write`] already does.
    pub(crate) async fn lock_first_signing_key(_tx: &mut Transaction<'_, Sqlite>) -> Result<()> {
        Ok(())
    }

    /// The statements only this dialect runs, by name.
    pub(crate) const STATEMENTS: &[(&str, &str)] = &[];
}

/// PostgreSQL: statements run at the default READ COMMITTED isolation. Every conditional
/// `UPDATE` re-checks its `WHERE` clause against the row's latest committed version once it
/// holds the row lock (which makes single-use updates exactly-once); what a `WHERE` cannot
/// see (a row inserted by a transaction that commits meanwhile) takes an explicit lock.
pub(super) mod postgres {
    use sqlx::{PgPool, Postgres, Transaction};

    use super::super::Result;
    use super::super::rows::db;

    /// Appended to a `SELECT` of the row a transaction is about to rewrite: the row lock,
    /// held until commit, which serialises the transactions that rewrite it.
    macro_rules! row_lock {
        () => {
            " FOR UPDATE"
        };
    }

    /// The JSON array (text) of `$item` (with its `ORDER BY`) over `$from` (a table and its
    /// `WHERE`): `[]` when there are no rows.
    macro_rules! json_array_agg {
        ($item:literal, $from:literal) => {
            concat!(
                "COALESCE((SELECT json_agg(",
                $item,
                ") FROM ",
                $from,
                ")::text, '[]')"
            )
        };
    }

    /// `$column` is one of the strings of the list parameter `$param` (bound with
    /// [`list`]).
    macro_rules! in_list {
        ($column:literal, $param:literal) => {
            concat!($column, " = ANY(", $param, ")")
        };
    }

    /// The list parameter `$param` (bound with [`list`]) as a table `$alias` with the
    /// columns `value` (an item) and `key` (its position: increasing in list order).
    macro_rules! list_table {
        ($param:literal, $alias:literal) => {
            concat!(
                "unnest(",
                $param,
                "::text[]) WITH ORDINALITY AS ",
                $alias,
                " (value, key)"
            )
        };
    }

    pub(crate) use {in_list, json_array_agg, list_table, row_lock};

    /// A list parameter's value: a `text[]`.
    pub(crate) fn list(items: &[String]) -> &[String] {
        items
    }

    /// Starts a transaction that writes.
    pub(crate) async fn begin_write(pool: &PgPool) -> Result<Transaction<'static, Postgres>> {
        pool.begin().await.map_err(db)
    }

    /// The advisory lock taken while the first signing key of an algorithm is stored (an
    /// arbitrary constant: "warden-k" in ASCII).
    const FIRST_SIGNING_KEY_LOCK: i64 = 0x7761_7264_656e_2d6b;

    const LOCK_FIRST_SIGNING_KEY: &str = "SELECT pg_advisory_xact_lock($1)";
    const LOCK_REFRESH_FAMILY: &str = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))";

    /// Serialises the transactions that rotate or revoke one refresh-token family: under
    /// READ COMMITTED an `UPDATE … WHERE family_id` does not see a successor inserted by a
    /// transaction that commits while it waits for a row lock, so both take this lock first
    /// (held until commit).
    pub(crate) async fn lock_refresh_family(
        tx: &mut Transaction<'_, Postgres>,
        family_id: &str,
    ) -> Result<()> {
        sqlx::query(LOCK_REFRESH_FAMILY)
            .bind(family_id)
            .execute(&mut **tx)
            .await
            .map_err(db)?;
        Ok(())
    }

    /// Makes the check for a current signing key and the insert of the first one a single
    /// step across connections: READ COMMITTED lets two `INSERT … WHERE NOT EXISTS` both
    /// insert, so each takes this lock (held until commit) first.
    pub(crate) async fn lock_first_signing_key(tx: &mut Transaction<'_, Postgres>) -> Result<()> {
        sqlx::query(LOCK_FIRST_SIGNING_KEY)
            .bind(FIRST_SIGNING_KEY_LOCK)
            .execute(&mut **tx)
            .await
            .map_err(db)?;
        Ok(())
    }

    /// The statements only this dialect runs, by name.
    pub(crate) const STATEMENTS: &[(&str, &str)] = &[
        ("LOCK_FIRST_SIGNING_KEY", LOCK_FIRST_SIGNING_KEY),
        ("LOCK_REFRESH_FAMILY", LOCK_REFRESH_FAMILY),
    ];
}
