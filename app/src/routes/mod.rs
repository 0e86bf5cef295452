pub mod account;
pub mod account_delete;
pub mod home;
pub mod not_found;
