//! The queries over rollups and the passage index (rollup sums,
//! passage-index sums, passage listings). Their text comes from the
//! crate's `query_sql`, shared with PostgreSQL, so all backends count the
//! same passages; this file binds the values and reads the rows.

use rusqlite::Connection;

use super::read::{clamp_to_i64, metrics};
use crate::query_sql::{Bound, Dialect, Sql};
use crate::rollup::{Dimension, DimensionValue, Metrics, RollupQuery, RollupRow};
use crate::{ListedPassage, StoreError};

/// The values of a query as SQLite binds them.
fn values(sql: Sql) -> (String, Vec<rusqlite::types::Value>) {
    let values = sql
        .values
        .into_iter()
        .map(|value| match value {
            Bound::Day(day) => day.into(),
            Bound::Text(text) => text.into(),
            Bound::Count(count) => count.into(),
        })
        .collect();
    (sql.text, values)
}

pub(super) fn rollup(
    connection: &Connection,
    query: &RollupQuery,
) -> Result<Vec<RollupRow>, StoreError> {
    let (text, values) = values(crate::query_sql::rollup(query, Dialect::Sqlite));
    let mut statement = connection.prepare_cached(&text)?;
    let width = query.group_by.len();
    let rows = statement.query_map(rusqlite::params_from_iter(values), |row| {
        let mut keys = Vec::with_capacity(width);
        for (position, dimension) in query.group_by.iter().enumerate() {
            keys.push(if *dimension == Dimension::Day {
                DimensionValue::Day(row.get(position)?)
            } else {
                DimensionValue::of_text(row.get(position)?)
            });
        }
        Ok(RollupRow {
            keys,
            metrics: metrics(row, width)?,
        })
    })?;
    let rows: Vec<RollupRow> = rows.collect::<Result<_, _>>()?;
    Ok(rows
        .into_iter()
        .filter(|row| row.metrics.passages > 0)
        .collect())
}

pub(super) fn passage_sums(
    connection: &Connection,
    query: &RollupQuery,
    attributes: &[(String, String)],
) -> Result<Metrics, StoreError> {
    let (text, values) = values(crate::query_sql::passage_sums(
        query,
        attributes,
        Dialect::Sqlite,
    ));
    let mut statement = connection.prepare_cached(&text)?;
    Ok(statement.query_row(rusqlite::params_from_iter(values), |row| metrics(row, 0))?)
}

pub(super) fn passages(
    connection: &Connection,
    query: &RollupQuery,
    offset: u64,
    limit: u64,
) -> Result<Vec<ListedPassage>, StoreError> {
    let (text, values) = values(crate::query_sql::passages(
        query,
        clamp_to_i64(offset),
        clamp_to_i64(limit),
        Dialect::Sqlite,
    ));
    let mut statement = connection.prepare_cached(&text)?;
    let rows = statement
        .query_map(rusqlite::params_from_iter(values), |row| {
            Ok(ListedPassage {
                leaf_index: row.get::<_, i64>(0)? as u64,
                target_id: row.get(1)?,
                leaf: row.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
