//! Small integer codes for strings a query meets often (activity names,
//! channels, breakdown values), shared by the scan threads. Codes are
//! looked up once per distinct value of a batch's dictionary, not per row.

use std::collections::HashMap;
use std::sync::Mutex;

/// Code 0 means "no value".
pub const NONE: u32 = 0;

#[derive(Debug, Default)]
pub struct Codebook {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    codes: HashMap<String, u32>,
    names: Vec<String>,
}

impl Codebook {
    /// The code of `name`, given a new one the first time it is seen.
    pub fn code(&self, name: &str) -> u32 {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&code) = inner.codes.get(name) {
            return code;
        }
        inner.names.push(name.to_owned());
        let code = inner.names.len() as u32;
        inner.codes.insert(name.to_owned(), code);
        code
    }

    /// The name behind a code; empty for [`NONE`] or an unknown code.
    pub fn name(&self, code: u32) -> String {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        match code {
            NONE => String::new(),
            code => inner
                .names
                .get(code as usize - 1)
                .cloned()
                .unwrap_or_default(),
        }
    }

    /// Every name, indexed by code minus one.
    pub fn names(&self) -> Vec<String> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.names.clone()
    }
}
