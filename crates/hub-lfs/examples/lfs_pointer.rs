//! Prints the LFS pointer of each file given: what `git lfs pointer --file` prints, computed by
//! streaming the file through sha256.
//!
//! ```text
//! cargo run --release -p hub-lfs --example lfs_pointer -- model.safetensors
//! ```

// Printing is what an example does.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::Path;
use std::process::ExitCode;

use hub_lfs::Pointer;

fn main() -> ExitCode {
    let mut status = ExitCode::SUCCESS;
    for arg in std::env::args_os().skip(1) {
        let path = Path::new(&arg);
        match Pointer::for_file(path) {
            Ok(pointer) => print!("{pointer}"),
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                status = ExitCode::FAILURE;
            }
        }
    }
    status
}
