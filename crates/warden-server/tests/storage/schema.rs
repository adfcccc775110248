//! The two migration sets describe one schema. Migrations stay per backend (their DDL
//! differs), so a test keeps them from drifting: both directories hold the same migrations,
//! and a migrated SQLite database and a migrated PostgreSQL database have the same tables,
//! columns (types mapped, nullability, defaults), primary keys, unique constraints, indexes
//! and foreign keys (with their actions), but for the differences named below.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{PgPool, SqlitePool};

use super::run_on_both;

// ---------------------------------------------------------------------------------------
// The differences allowed, each for a reason
// ---------------------------------------------------------------------------------------
//
// Type mapping (`Type`): SQLite `TEXT`, `INTEGER`, `BLOB` are PostgreSQL `text`, `bigint`,
// `bytea`; a SQLite `INTEGER` column with `CHECK (c IN (0, 1))` is a PostgreSQL `boolean`;
// SQLite's `INTEGER PRIMARY KEY` (the rowid) is PostgreSQL's `GENERATED ALWAYS AS
// IDENTITY`. Every SQLite table is `STRICT`, which PostgreSQL is anyway.

/// Columns listed in byte order: PostgreSQL declares them `COLLATE "C"`, which SQLite's
/// default `BINARY` collation already is. No other column names a collation.
const BYTEWISE: &[(&str, &str)] = &[
    ("users", "username"),
    ("roles", "name"),
    ("user_roles", "role_name"),
];

/// Columns that are a 32-bit `integer` on PostgreSQL: written, used for ordering, never
/// read into an `i64`.
const INT4_ON_POSTGRES: &[(&str, &str)] = &[("user_roles", "position")];

// ---------------------------------------------------------------------------------------
// The normalised schema
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Type {
    Text,
    Integer,
    Boolean,
    Bytes,
    /// A type outside the mapping: never equal across backends.
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Column {
    name: String,
    ty: Type,
    not_null: bool,
    /// Normalised: no `::text` cast, booleans as `true`/`false`.
    default: Option<String>,
    /// Assigned by the database (SQLite's rowid, PostgreSQL's identity).
    generated: bool,
    /// A collation other than the one expected (on PostgreSQL: `"C"` for the `BYTEWISE`
    /// columns, the database's default elsewhere; on SQLite, `BINARY` everywhere).
    unexpected_collation: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Index {
    name: String,
    columns: Vec<String>,
    unique: bool,
    partial: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ForeignKey {
    columns: Vec<String>,
    table: String,
    references: Vec<String>,
    on_delete: String,
    on_update: String,
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Table {
    columns: Vec<Column>,
    primary_key: Vec<String>,
    /// The column lists of the `UNIQUE` constraints.
    unique: BTreeSet<Vec<String>>,
    /// The indexes made by `CREATE INDEX`.
    indexes: BTreeSet<Index>,
    foreign_keys: BTreeSet<ForeignKey>,
}

type Schema = BTreeMap<String, Table>;

fn normalise_default(default: &str, ty: &Type) -> String {
    let default = default.trim();
    let default = default.strip_suffix("::text").unwrap_or(default);
    match (ty, default) {
        (Type::Boolean, "0") => "false".to_owned(),
        (Type::Boolean, "1") => "true".to_owned(),
        _ => default.to_owned(),
    }
}

// ---------------------------------------------------------------------------------------
// SQLite
// ---------------------------------------------------------------------------------------

async fn sqlite_schema(pool: &SqlitePool) -> Schema {
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, sql FROM sqlite_schema \
         WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut schema = Schema::new();
    for (name, sql) in tables {
        // Compared without spaces: `CHECK (disabled IN (0, 1))` is `CHECK(disabledIN(0,1))`.
        let compact: String = sql.chars().filter(|c| !c.is_whitespace()).collect();
        assert!(
            compact.ends_with("STRICT"),
            "SQLite table {name} is not STRICT"
        );
        assert!(
            !compact.to_uppercase().contains("COLLATE"),
            "SQLite table {name} names a collation: {sql}"
        );
        let mut table = Table::default();

        let columns: Vec<(String, String, bool, Option<String>, i64)> = sqlx::query_as(
            "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info($1) \
             ORDER BY cid",
        )
        .bind(&name)
        .fetch_all(pool)
        .await
        .unwrap();
        let pk_count = columns.iter().filter(|c| c.4 > 0).count();
        let mut primary_key: Vec<(i64, String)> = Vec::new();
        for (column, declared, not_null, default, pk) in columns {
            let rowid = pk_count == 1 && pk > 0 && declared == "INTEGER";
            let ty = match declared.as_str() {
                "TEXT" => Type::Text,
                "INTEGER" if compact.contains(&format!("CHECK({column}IN(0,1))")) => Type::Boolean,
                "INTEGER" => Type::Integer,
                "BLOB" => Type::Bytes,
                other => Type::Other(other.to_owned()),
            };
            if pk > 0 {
                primary_key.push((pk, column.clone()));
            }
            table.columns.push(Column {
                default: default.map(|d| normalise_default(&d, &ty)),
                name: column,
                ty,
                not_null: not_null || rowid,
                generated: rowid,
                unexpected_collation: None,
            });
        }
        primary_key.sort();
        table.primary_key = primary_key.into_iter().map(|(_, c)| c).collect();

        let indexes: Vec<(String, bool, String, bool)> =
            sqlx::query_as("SELECT name, \"unique\", origin, partial FROM pragma_index_list($1)")
                .bind(&name)
                .fetch_all(pool)
                .await
                .unwrap();
        for (index, unique, origin, partial) in indexes {
            let columns: Vec<Option<String>> =
                sqlx::query_scalar("SELECT name FROM pragma_index_info($1) ORDER BY seqno")
                    .bind(&index)
                    .fetch_all(pool)
                    .await
                    .unwrap();
            let columns: Vec<String> = columns
                .into_iter()
                .map(|c| c.unwrap_or_else(|| "<expression>".to_owned()))
                .collect();
            match origin.as_str() {
                "pk" => {}
                "u" => {
                    table.unique.insert(columns);
                }
                _ => {
                    table.indexes.insert(Index {
                        name: index,
                        columns,
                        unique,
                        partial,
                    });
                }
            }
        }

        let keys: Vec<(i64, String, String, Option<String>, String, String)> = sqlx::query_as(
            "SELECT id, \"table\", \"from\", \"to\", on_update, on_delete \
             FROM pragma_foreign_key_list($1) ORDER BY id, seq",
        )
        .bind(&name)
        .fetch_all(pool)
        .await
        .unwrap();
        let mut by_id: BTreeMap<i64, ForeignKey> = BTreeMap::new();
        for (id, target, from, to, on_update, on_delete) in keys {
            let key = by_id.entry(id).or_insert_with(|| ForeignKey {
                columns: Vec::new(),
                table: target,
                references: Vec::new(),
                on_delete,
                on_update,
            });
            key.columns.push(from);
            key.references
                .push(to.unwrap_or_else(|| "<primary key>".to_owned()));
        }
        table.foreign_keys = by_id.into_values().collect();
        schema.insert(name, table);
    }
    schema
}

// ---------------------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------------------

/// The names of the attributes `$attnums` of the relation `$rel`, in order.
macro_rules! attnames {
    ($rel:literal, $attnums:literal) => {
        concat!(
            "ARRAY(SELECT a.attname::text FROM unnest(",
            $attnums,
            ") WITH ORDINALITY AS k (attnum, ord) \
             JOIN pg_attribute a ON a.attrelid = ",
            $rel,
            " AND a.attnum = k.attnum ORDER BY k.ord)"
        )
    };
}

/// A column, as `information_schema.columns` describes it.
#[derive(sqlx::FromRow)]
struct PgColumn {
    name: String,
    data_type: String,
    not_null: bool,
    default: Option<String>,
    collation: Option<String>,
    generated: bool,
}

/// A primary key (`p`), unique (`u`) or foreign key (`f`) constraint.
#[derive(sqlx::FromRow)]
struct PgConstraint {
    kind: String,
    columns: Vec<String>,
    target: String,
    references: Vec<String>,
    on_delete: String,
    on_update: String,
}

fn action(code: &str) -> String {
    match code {
        "a" => "NO ACTION",
        "r" => "RESTRICT",
        "c" => "CASCADE",
        "n" => "SET NULL",
        "d" => "SET DEFAULT",
        other => other,
    }
    .to_owned()
}

async fn postgres_schema(pool: &PgPool) -> Schema {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' \
           AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut schema = Schema::new();
    for name in tables {
        let mut table = Table::default();

        let columns: Vec<PgColumn> = sqlx::query_as(
            "SELECT column_name::text AS name, data_type::text, is_nullable = 'NO' AS not_null, \
                    column_default::text AS default, collation_name::text AS collation, \
                    is_identity = 'YES' AS generated \
             FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind(&name)
        .fetch_all(pool)
        .await
        .unwrap();
        for PgColumn {
            name: column,
            data_type,
            not_null,
            default,
            collation,
            generated,
        } in columns
        {
            let place = (name.as_str(), column.as_str());
            let expected = BYTEWISE.contains(&place).then_some("C");
            let unexpected_collation = (collation.as_deref() != expected)
                .then(|| format!("{collation:?} where {expected:?} is expected"));
            let ty = match data_type.as_str() {
                "text" => Type::Text,
                "bigint" => Type::Integer,
                "integer" if INT4_ON_POSTGRES.contains(&place) => Type::Integer,
                "boolean" => Type::Boolean,
                "bytea" => Type::Bytes,
                other => Type::Other(other.to_owned()),
            };
            table.columns.push(Column {
                default: default.map(|d| normalise_default(&d, &ty)),
                name: column,
                ty,
                not_null,
                generated,
                unexpected_collation,
            });
        }

        let constraints: Vec<PgConstraint> = sqlx::query_as(concat!(
            "SELECT c.contype::text AS kind, ",
            attnames!("c.conrelid", "c.conkey"),
            " AS columns, c.confrelid::regclass::text AS target, ",
            attnames!("c.confrelid", "c.confkey"),
            " AS references, c.confdeltype::text AS on_delete, \
                        c.confupdtype::text AS on_update \
             FROM pg_constraint c \
             WHERE c.conrelid = $1::regclass AND c.contype IN ('p', 'u', 'f')"
        ))
        .bind(&name)
        .fetch_all(pool)
        .await
        .unwrap();
        for PgConstraint {
            kind,
            columns,
            target,
            references,
            on_delete,
            on_update,
        } in constraints
        {
            match kind.as_str() {
                "p" => table.primary_key = columns,
                "u" => {
                    table.unique.insert(columns);
                }
                _ => {
                    table.foreign_keys.insert(ForeignKey {
                        columns,
                        table: target,
                        references,
                        on_delete: action(&on_delete),
                        on_update: action(&on_update),
                    });
                }
            }
        }

        let indexes: Vec<(String, Vec<String>, bool, bool)> = sqlx::query_as(concat!(
            "SELECT ic.relname::text, ",
            attnames!("i.indrelid", "i.indkey::int2[]"),
            ", i.indisunique, i.indpred IS NOT NULL \
             FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid \
             WHERE i.indrelid = $1::regclass \
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c \
                                WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u'))"
        ))
        .bind(&name)
        .fetch_all(pool)
        .await
        .unwrap();
        for (index, columns, unique, partial) in indexes {
            table.indexes.insert(Index {
                name: index,
                columns,
                unique,
                partial,
            });
        }
        schema.insert(name, table);
    }
    schema
}

// ---------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------

/// Every difference between the two schemas, in words.
fn differences(sqlite: &Schema, postgres: &Schema) -> Vec<String> {
    let mut found = Vec::new();
    let names: BTreeSet<&String> = sqlite.keys().chain(postgres.keys()).collect();
    for name in names {
        let (Some(s), Some(p)) = (sqlite.get(name), postgres.get(name)) else {
            let only = if sqlite.contains_key(name) {
                "SQLite"
            } else {
                "PostgreSQL"
            };
            found.push(format!("table {name}: only on {only}"));
            continue;
        };
        let columns = s.columns.len().max(p.columns.len());
        for i in 0..columns {
            let (sc, pc) = (s.columns.get(i), p.columns.get(i));
            if sc != pc {
                found.push(format!(
                    "{name}, column {}: SQLite {sc:?}, PostgreSQL {pc:?}",
                    i + 1
                ));
            }
        }
        let parts = [
            (
                "primary key",
                format!("{:?}", s.primary_key),
                format!("{:?}", p.primary_key),
            ),
            (
                "unique",
                format!("{:?}", s.unique),
                format!("{:?}", p.unique),
            ),
            (
                "indexes",
                format!("{:?}", s.indexes),
                format!("{:?}", p.indexes),
            ),
            (
                "foreign keys",
                format!("{:?}", s.foreign_keys),
                format!("{:?}", p.foreign_keys),
            ),
        ];
        for (what, on_sqlite, on_postgres) in parts {
            if on_sqlite != on_postgres {
                found.push(format!(
                    "{name}, {what}: SQLite {on_sqlite}, PostgreSQL {on_postgres}"
                ));
            }
        }
    }
    found
}

#[tokio::test]
async fn migrated_schemas_match() {
    run_on_both(|sqlite, postgres| async move {
        let on_sqlite = sqlite_schema(sqlite.pool()).await;
        let on_postgres = postgres_schema(postgres.pool()).await;
        assert!(on_sqlite.len() >= 12, "tables: {:?}", on_sqlite.keys());
        let found = differences(&on_sqlite, &on_postgres);
        assert!(
            found.is_empty(),
            "the migrated schemas differ:\n{}",
            found.join("\n")
        );
        for (table, column) in BYTEWISE.iter().chain(INT4_ON_POSTGRES) {
            assert!(
                on_sqlite[*table].columns.iter().any(|c| c.name == *column),
                "an allowed difference names no column: {table}.{column}"
            );
        }
    })
    .await;
}

/// The file names of a migration directory (`NNNN_description.sql`), in order.
fn migrations(backend: &str) -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn both_backends_have_the_same_migrations() {
    let (sqlite, postgres) = (migrations("sqlite"), migrations("postgres"));
    assert!(!sqlite.is_empty());
    assert_eq!(
        sqlite, postgres,
        "every migration exists for both backends, with the same version and name"
    );
}
