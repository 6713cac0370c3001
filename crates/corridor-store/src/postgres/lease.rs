//! The integrator lease and the tree head on PostgreSQL (see
//! [`crate::lease`]): decided by the database, on the database's clock
//! (`clock_timestamp()`), one short transaction per call.

use std::time::Duration;

use postgres::Client;

use crate::lease::{self, Lease, LeaseState, TreeHead};

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

/// Takes or renews the lease in one statement: the row lock it takes is
/// held only until that statement's transaction ends.
pub(super) fn acquire(
    client: &mut Client,
    holder: &str,
    ttl: Duration,
) -> Result<LeaseState, postgres::Error> {
    let taken = client.query_opt(
        "INSERT INTO integrator_lease AS lease (single, holder, epoch, expires_at)
         VALUES (TRUE, $1, 1, clock_timestamp() + $2::BIGINT * INTERVAL '1 millisecond')
         ON CONFLICT (single) DO UPDATE SET
             epoch = CASE WHEN lease.holder = excluded.holder AND lease.expires_at > clock_timestamp()
                          THEN lease.epoch ELSE lease.epoch + 1 END,
             holder = excluded.holder,
             expires_at = excluded.expires_at
         WHERE lease.holder = excluded.holder OR lease.expires_at <= clock_timestamp()
         RETURNING epoch",
        &[&holder, &millis(ttl)],
    )?;
    if let Some(row) = taken {
        return Ok(LeaseState::Held(Lease {
            holder: holder.to_string(),
            epoch: to_u64(row.try_get(0)?),
        }));
    }
    let row = client.query_one(
        "SELECT holder, epoch,
                GREATEST(0, FLOOR(EXTRACT(EPOCH FROM (expires_at - clock_timestamp())) * 1000))::BIGINT
         FROM integrator_lease",
        &[],
    )?;
    Ok(LeaseState::Taken {
        holder: row.try_get(0)?,
        epoch: to_u64(row.try_get(1)?),
        expires_in: Duration::from_millis(to_u64(row.try_get(2)?)),
    })
}

pub(super) fn release(client: &mut Client, held: &Lease) -> Result<(), postgres::Error> {
    client.execute(
        "UPDATE integrator_lease SET expires_at = clock_timestamp()
         WHERE holder = $1 AND epoch = $2 AND expires_at > clock_timestamp()",
        &[&held.holder, &(held.epoch as i64)],
    )?;
    Ok(())
}

pub(super) fn tree_head(client: &mut Client) -> Result<Option<TreeHead>, postgres::Error> {
    client
        .query_opt("SELECT size, root FROM tree_head", &[])?
        .map(|row| head_of(&row))
        .transpose()
}

fn head_of(row: &postgres::Row) -> Result<TreeHead, postgres::Error> {
    let root: Vec<u8> = row.try_get(1)?;
    Ok(TreeHead {
        size: to_u64(row.try_get(0)?),
        // A root of another length cannot equal any head it is compared with.
        root: root.try_into().unwrap_or([0; 32]),
    })
}

/// Moves the head under the lease, in one transaction: the lease row is
/// locked `FOR SHARE`, so a takeover waits for this transaction (and this
/// one sees a takeover that committed first); the head row `FOR UPDATE`.
/// Returns why it was refused, if it was.
pub(super) fn advance(
    client: &mut Client,
    held: &Lease,
    from: Option<&TreeHead>,
    to: &TreeHead,
) -> Result<Option<String>, postgres::Error> {
    let mut transaction = client.transaction()?;
    // A paused holder must not keep the lease row locked against a takeover.
    transaction.batch_execute(super::append::HOLDER_GONE_AFTER)?;
    let row = transaction.query_opt(
        "SELECT holder, epoch, expires_at > clock_timestamp() FROM integrator_lease FOR SHARE",
        &[],
    )?;
    let refusal = match row {
        None => Some(format!(
            "the integrator lease of {} (epoch {}) is not recorded in the store",
            held.holder, held.epoch
        )),
        Some(row) => {
            let holder: String = row.try_get(0)?;
            let epoch = to_u64(row.try_get(1)?);
            let current: bool = row.try_get(2)?;
            if holder != held.holder || epoch != held.epoch {
                Some(lease::taken_over(held, &holder, epoch))
            } else if !current {
                Some(lease::expired(held))
            } else {
                None
            }
        }
    };
    if refusal.is_some() {
        return Ok(refusal);
    }
    let recorded = transaction
        .query_opt("SELECT size, root FROM tree_head FOR UPDATE", &[])?
        .map(|row| head_of(&row))
        .transpose()?;
    if let Some(reason) = lease::head_refusal(recorded.as_ref(), from, to) {
        return Ok(Some(reason));
    }
    transaction.execute(
        "INSERT INTO tree_head (single, size, root, epoch, advanced_at)
         VALUES (TRUE, $1, $2, $3, clock_timestamp())
         ON CONFLICT (single) DO UPDATE SET
             size = excluded.size, root = excluded.root,
             epoch = excluded.epoch, advanced_at = excluded.advanced_at",
        &[&(to.size as i64), &to.root.as_slice(), &(held.epoch as i64)],
    )?;
    transaction.commit()?;
    Ok(None)
}
