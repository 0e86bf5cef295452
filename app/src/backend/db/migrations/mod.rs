pub use sea_orm_migration::prelude::*;

mod m20261127_000001_create_users;
mod m20261127_000002_create_identities;
mod m20261127_000003_create_sessions;
mod m20261127_000004_add_identity_tokens;
mod m20261127_000005_hash_session_ids;
mod m20261127_000006_forget_unused_tokens;
mod m20261127_000007_create_sign_in_claims;
mod m20261206_000008_accounts;
mod m20261207_000009_create_api_tokens;
mod m20261207_000010_create_provider_tokens;
mod m20261207_000011_refreshable_provider_tokens;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_create_users::Migration),
            Box::new(m20261127_000002_create_identities::Migration),
            Box::new(m20261127_000003_create_sessions::Migration),
            Box::new(m20261127_000004_add_identity_tokens::Migration),
            Box::new(m20261127_000005_hash_session_ids::Migration),
            Box::new(m20261127_000006_forget_unused_tokens::Migration),
            Box::new(m20261127_000007_create_sign_in_claims::Migration),
            Box::new(m20261206_000008_accounts::Migration),
            Box::new(m20261207_000009_create_api_tokens::Migration),
            Box::new(m20261207_000010_create_provider_tokens::Migration),
            Box::new(m20261207_000011_refreshable_provider_tokens::Migration),
        ]
    }
}
