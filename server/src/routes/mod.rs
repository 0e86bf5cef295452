pub mod health;
pub mod me;
pub mod sign_in;
