//! One file per table, in the shape `sea-orm-cli generate entity` writes.

pub mod account_events;
pub mod api_tokens;
pub mod identities;
pub mod provider_tokens;
pub mod sessions;
pub mod sign_in_claims;
pub mod users;

pub mod prelude {
    pub use super::account_events::Entity as AccountEvents;
    pub use super::api_tokens::Entity as ApiTokens;
    pub use super::identities::Entity as Identities;
    pub use super::provider_tokens::Entity as SealedTokens;
    pub use super::sessions::Entity as Sessions;
    pub use super::sign_in_claims::Entity as SignInClaims;
    pub use super::users::Entity as Users;
}
