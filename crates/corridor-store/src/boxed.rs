//! A boxed store is a store: `Box<dyn Store>` (what [`crate::open`] returns)
//! passes wherever a `&dyn Store` or `&mut dyn Store` is expected, and each
//! call goes to the backend inside.

use corridor_model::RecordType;

use crate::lease::{Lease, LeaseState, LeaseStore, TreeHead};
use crate::rollup::{Metrics, RollupDifference, RollupQuery, RollupRow};
use crate::{
    ApiToken, CurrentState, ListedPassage, NewRecord, PrivatePart, Store, StoreError, StoredRecord,
    TokenStore,
};

impl<S: Store + ?Sized> Store for Box<S> {
    fn append(&mut self, batch: &[NewRecord]) -> Result<Vec<u64>, StoreError> {
        (**self).append(batch)
    }

    fn record(&self, id: &str) -> Result<Option<StoredRecord>, StoreError> {
        (**self).record(id)
    }

    fn records(&self, ids: &[&str]) -> Result<Vec<StoredRecord>, StoreError> {
        (**self).records(ids)
    }

    fn record_at(&self, leaf_index: u64) -> Result<Option<StoredRecord>, StoreError> {
        (**self).record_at(leaf_index)
    }

    fn current(&self, target_id: &str) -> Result<Option<CurrentState>, StoreError> {
        (**self).current(target_id)
    }

    fn leaf_count(&self) -> Result<u64, StoreError> {
        (**self).leaf_count()
    }

    fn leaves(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        (**self).leaves(start, end)
    }

    fn private_part(&self, id: &str) -> Result<Option<PrivatePart>, StoreError> {
        (**self).private_part(id)
    }

    fn erase_private(&mut self, id: &str) -> Result<u64, StoreError> {
        (**self).erase_private(id)
    }

    fn rollup(&self, query: &RollupQuery) -> Result<Vec<RollupRow>, StoreError> {
        (**self).rollup(query)
    }

    fn passage_sums(
        &self,
        query: &RollupQuery,
        attributes: &[(String, String)],
    ) -> Result<Metrics, StoreError> {
        (**self).passage_sums(query, attributes)
    }

    fn rollup_differences(&self) -> Result<Vec<RollupDifference>, StoreError> {
        (**self).rollup_differences()
    }

    fn passages(
        &self,
        query: &RollupQuery,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<ListedPassage>, StoreError> {
        (**self).passages(query, offset, limit)
    }

    fn current_of_type(
        &self,
        content_type: RecordType,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        (**self).current_of_type(content_type)
    }

    fn count_by_type(&self) -> Result<Vec<(RecordType, u64)>, StoreError> {
        (**self).count_by_type()
    }

    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).meta(key)
    }

    fn set_meta(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        (**self).set_meta(key, value)
    }

    fn export(&self, start: u64, end: u64) -> Result<Vec<NewRecord>, StoreError> {
        (**self).export(start, end)
    }

    fn first_meta(&mut self, key: &str, value: &[u8]) -> Result<Vec<u8>, StoreError> {
        (**self).first_meta(key, value)
    }
}

impl<S: TokenStore + ?Sized> TokenStore for Box<S> {
    fn insert_token(&mut self, token: &ApiToken, secret_hash: &[u8; 32]) -> Result<(), StoreError> {
        (**self).insert_token(token, secret_hash)
    }

    fn token_by_hash(&self, secret_hash: &[u8; 32]) -> Result<Option<ApiToken>, StoreError> {
        (**self).token_by_hash(secret_hash)
    }

    fn tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        (**self).tokens()
    }

    fn tokens_with_hashes(&self) -> Result<Vec<(ApiToken, [u8; 32])>, StoreError> {
        (**self).tokens_with_hashes()
    }

    fn revoke_token(&mut self, id: &str, revoked_at: &str) -> Result<bool, StoreError> {
        (**self).revoke_token(id, revoked_at)
    }

    fn submitter(&self, record_id: &str) -> Result<Option<String>, StoreError> {
        (**self).submitter(record_id)
    }
}

impl<S: Store + ?Sized> LeaseStore for Box<S> {
    fn acquire_lease(
        &mut self,
        holder: &str,
        ttl: std::time::Duration,
    ) -> Result<LeaseState, StoreError> {
        (**self).acquire_lease(holder, ttl)
    }

    fn release_lease(&mut self, lease: &Lease) -> Result<(), StoreError> {
        (**self).release_lease(lease)
    }

    fn tree_head(&self) -> Result<Option<TreeHead>, StoreError> {
        (**self).tree_head()
    }

    fn advance_tree_head(
        &mut self,
        lease: &Lease,
        from: Option<&TreeHead>,
        to: &TreeHead,
    ) -> Result<(), StoreError> {
        (**self).advance_tree_head(lease, from, to)
    }
}
