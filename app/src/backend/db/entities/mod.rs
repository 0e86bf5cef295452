//! One file per table, in the shape `sea-orm-cli generate entity` writes.

pub mod identities;
pub mod sessions;
pub mod users;

pub mod prelude {
    pub use super::identities::Entity as Identities;
    pub use super::sessions::Entity as Sessions;
    pub use super::users::Entity as Users;
}
