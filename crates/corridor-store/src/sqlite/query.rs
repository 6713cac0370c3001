//! The filter and query builder: one set of conditions for a query's
//! period and filters, and the three queries that use it (rollup sums,
//! passage-index sums, passage listings), so all of them count the same passages.

use rusqlite::Connection;

use super::read::{clamp_to_i64, metrics};
use crate::rollup::{Dimension, DimensionValue, Metrics, RollupQuery, RollupRow, RollupTable};
use crate::{ListedPassage, StoreError};

pub(super) fn rollup(
    connection: &Connection,
    query: &RollupQuery,
) -> Result<Vec<RollupRow>, StoreError> {
    let table = if query.uses_cargo() {
        RollupTable::Cargo
    } else {
        RollupTable::Passage
    };
    let group_columns: Vec<&str> = query
        .group_by
        .iter()
        .map(|dimension| dimension.column())
        .collect();
    let mut sql = QueryConditions::new(query, FilteredTable::Rollup);
    if let Some(kind) = &query.filter.cargo_kind {
        let placeholder = sql.bind(kind.clone());
        sql.conditions.push(format!("cargo_kind = {placeholder}"));
    }
    let sums = "SUM(passages), SUM(vehicles), SUM(passengers), SUM(passengers_reported), SUM(medical_evacuees), SUM(medical_evacuees_reported), SUM(kilograms), SUM(kilograms_reported)";
    let select_keys = if group_columns.is_empty() {
        String::new()
    } else {
        format!("{}, ", group_columns.join(", "))
    };
    let group = if group_columns.is_empty() {
        String::new()
    } else {
        format!(
            "GROUP BY {0} HAVING SUM(passages) > 0 ORDER BY {0}",
            group_columns.join(", ")
        )
    };
    let text = format!(
        "SELECT {select_keys}{sums} FROM {} WHERE {} {group}",
        table.name(),
        sql.clause()
    );
    let mut statement = connection.prepare_cached(&text)?;
    let width = group_columns.len();
    let rows = statement.query_map(rusqlite::params_from_iter(sql.values), |row| {
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
    let mut sql = QueryConditions::new(query, FilteredTable::PassageIndex);
    // The first attribute drives the query through its index, so an
    // attribute filter reads the matching passages, not the whole period.
    for (position, (key, value)) in attributes.iter().enumerate() {
        let key = sql.bind(key.clone());
        let value = sql.bind(value.clone());
        let condition = if position == 0 {
            // The index holds site and day too, so the period is a range scan.
            let mut driving =
                format!("a.key = {key} AND a.value = {value} AND a.day BETWEEN ?1 AND ?2");
            if !sql.site_list.is_empty() {
                driving.push_str(&format!(" AND a.site IN ({})", sql.site_list));
            }
            driving
        } else {
            format!(
                "p.leaf_index IN (SELECT leaf_index FROM passage_attributes WHERE key = {key} AND value = {value})"
            )
        };
        sql.conditions.push(condition);
    }
    let from = if attributes.is_empty() {
        "passages p"
    } else {
        "passage_attributes a CROSS JOIN passages p ON p.leaf_index = a.leaf_index"
    };
    // With a cargo filter only vehicles carrying that kind count, and
    // their tonnes are that kind's tonnes, as in the cargo rollup.
    let kilograms = match &query.filter.cargo_kind {
        Some(kind) => {
            let kind = sql.carrying(kind);
            format!(
                "(SELECT SUM(c.kilograms) FROM passage_cargo c WHERE c.leaf_index = p.leaf_index AND c.kind = {kind})"
            )
        }
        None => "p.kilograms".to_string(),
    };
    let text = format!(
        "SELECT COUNT(*), SUM(p.count), SUM(p.passengers), COUNT(p.passengers), SUM(p.medical_evacuees), COUNT(p.medical_evacuees), SUM({kilograms}), COUNT({kilograms}) FROM {from} WHERE {}",
        sql.clause()
    );
    let mut statement = connection.prepare_cached(&text)?;
    Ok(
        statement.query_row(rusqlite::params_from_iter(sql.values), |row| {
            metrics(row, 0)
        })?,
    )
}

pub(super) fn passages(
    connection: &Connection,
    query: &RollupQuery,
    offset: u64,
    limit: u64,
) -> Result<Vec<ListedPassage>, StoreError> {
    let mut sql = QueryConditions::new(query, FilteredTable::PassageIndex);
    if let Some(kind) = &query.filter.cargo_kind {
        sql.carrying(kind);
    }
    sql.values.push(clamp_to_i64(limit).into());
    let limit_placeholder = format!("?{}", sql.values.len());
    sql.values.push(clamp_to_i64(offset).into());
    // (site, day) is indexed and SQLite orders index entries by rowid
    // within a key, so this order needs no sort.
    let text = format!(
        "SELECT p.leaf_index, p.target_id, r.leaf FROM passages p JOIN records r ON r.leaf_index = p.leaf_index
         WHERE {} ORDER BY p.site, p.day, p.leaf_index LIMIT {limit_placeholder} OFFSET ?{}",
        sql.clause(),
        sql.values.len()
    );
    let mut statement = connection.prepare_cached(&text)?;
    let rows = statement
        .query_map(rusqlite::params_from_iter(sql.values), |row| {
            Ok(ListedPassage {
                leaf_index: row.get::<_, i64>(0)? as u64,
                target_id: row.get(1)?,
                leaf: row.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The table a query's period and filters are applied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FilteredTable {
    /// A rollup table: no operator is stored as the empty text.
    Rollup,
    /// The passage index as `p`: only current passages count, and no
    /// operator is NULL.
    PassageIndex,
}

impl FilteredTable {
    /// The expression for a dimension's column, compared as the rollups store it.
    fn column(self, name: &str) -> String {
        match self {
            FilteredTable::Rollup => name.to_string(),
            FilteredTable::PassageIndex if name == "operator" => {
                "COALESCE(p.operator, '')".to_string()
            }
            FilteredTable::PassageIndex => format!("p.{name}"),
        }
    }
}

/// Conditions for a query's period and filters, with their bound values
/// (`?1` and `?2` are the first and last day); shared by `rollup`,
/// `passage_sums` and `passages` so all of them count the same passages.
/// The cargo kind is left to the caller: each table answers it differently.
struct QueryConditions {
    conditions: Vec<String>,
    values: Vec<rusqlite::types::Value>,
    /// The placeholders of the site filter, for reuse on another table.
    site_list: String,
}

impl QueryConditions {
    fn new(query: &RollupQuery, table: FilteredTable) -> QueryConditions {
        let mut sql = QueryConditions {
            conditions: Vec::new(),
            values: vec![query.from_day.into(), query.to_day.into()],
            site_list: String::new(),
        };
        if table == FilteredTable::PassageIndex {
            sql.conditions.push("p.current = 1".to_string());
        }
        sql.conditions
            .push(format!("{} BETWEEN ?1 AND ?2", table.column("day")));
        let filter = &query.filter;
        if !filter.sites.is_empty() {
            sql.site_list = sql.bind_all(&filter.sites);
            let condition = format!("{} IN ({})", table.column("site"), sql.site_list);
            sql.conditions.push(condition);
        }
        if !filter.outcomes.is_empty() {
            let outcomes = sql.bind_all(&filter.outcomes);
            sql.conditions
                .push(format!("{} IN ({outcomes})", table.column("outcome")));
        }
        for (name, wanted) in [
            ("category", &filter.category),
            ("operator", &filter.operator),
            ("direction", &filter.direction),
            ("vehicle_class", &filter.vehicle_class),
        ] {
            if let Some(wanted) = wanted {
                let placeholder = sql.bind(wanted.clone());
                sql.conditions
                    .push(format!("{} = {placeholder}", table.column(name)));
            }
        }
        sql
    }

    /// Binds a text value and returns its placeholder.
    fn bind(&mut self, value: String) -> String {
        self.values.push(value.into());
        format!("?{}", self.values.len())
    }

    /// Binds text values and returns their placeholders, comma-separated.
    fn bind_all(&mut self, values: &[String]) -> String {
        let placeholders: Vec<String> = values
            .iter()
            .map(|value| self.bind(value.clone()))
            .collect();
        placeholders.join(", ")
    }

    /// Keeps only passages of the index carrying cargo of `kind`; returns
    /// the placeholder bound to `kind`.
    fn carrying(&mut self, kind: &str) -> String {
        let kind = self.bind(kind.to_string());
        self.conditions.push(format!(
            "p.leaf_index IN (SELECT leaf_index FROM passage_cargo WHERE kind = {kind})"
        ));
        kind
    }

    /// The conditions joined for a `WHERE` clause.
    fn clause(&self) -> String {
        self.conditions.join(" AND ")
    }
}
