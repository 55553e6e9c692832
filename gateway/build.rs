// The migrations are embedded by `sqlx::migrate!`; a new file under migrations/ must rebuild
// this crate (sqlx's own advice: the macro cannot watch a directory for added files).
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
