pub mod avatar;
pub mod flash;
pub mod header;
pub mod provider_mark;
pub mod sign_in_card;
pub mod sign_in_options;
pub mod user_session;
pub mod welcome_card;
