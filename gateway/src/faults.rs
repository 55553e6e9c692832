//! Faults on purpose, for tests. With the `fault-hooks` feature (on in test builds only, through
//! the test-support crate), a test can make the next request to a path lose its answer after
//! its work has committed, as a crash or a lost connection between the commit and the response
//! would; the idempotency layer then does nothing more for it. Without the feature nothing here
//! can be armed and every check is `false`.

#[derive(Default)]
pub struct Faults {
    #[cfg(feature = "fault-hooks")]
    lose_answer: std::sync::Mutex<Vec<String>>,
}

impl Faults {
    /// The next request whose path starts with `path_prefix` loses its answer (once).
    #[cfg(feature = "fault-hooks")]
    pub fn lose_next_answer(&self, path_prefix: &str) {
        if let Ok(mut armed) = self.lose_answer.lock() {
            armed.push(path_prefix.to_owned());
        }
    }

    /// Whether the answer to this request is lost on purpose (the fault is used up).
    pub fn answer_lost(&self, path: &str) -> bool {
        #[cfg(feature = "fault-hooks")]
        if let Ok(mut armed) = self.lose_answer.lock() {
            if let Some(i) = armed.iter().position(|prefix| path.starts_with(prefix.as_str())) {
                armed.remove(i);
                return true;
            }
        }
        let _ = path;
        false
    }
}
