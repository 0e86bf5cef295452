use leptos::prelude::*;
use leptos_server::codee::string::JsonSerdeWasmCodec;

use crate::api::{get_current_user, Logout};
use crate::error::AppError;
use crate::models::CurrentUser;

/// The current user, fetched once and shared by every component; refetched when the
/// logout action completes, so the page updates without a reload.
#[derive(Clone, Copy)]
pub struct UserSession {
    pub user: Resource<Result<Option<CurrentUser>, AppError>, JsonSerdeWasmCodec>,
    pub logout: ServerAction<Logout>,
}

impl UserSession {
    pub fn provide() {
        let logout = ServerAction::<Logout>::new();
        let user = Resource::new_serde_wb(move || logout.version().get(), |_| get_current_user());
        provide_context(UserSession { user, logout });
    }

    pub fn get() -> Self {
        expect_context()
    }
}
