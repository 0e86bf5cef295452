//! The same entities and flow compiled against sea-orm-sync, whose library is also named
//! `sea_orm`: hence a crate of its own, where `sea_orm` is the sync one.
#[path = "../../shared/entities.rs"]
pub mod ents;
pub mod flow {
    include!(concat!(env!("OUT_DIR"), "/flow.rs"));
}
pub use sea_orm;
