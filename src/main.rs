//! The `timcast` binary: everything happens in the library's [`timcast::run`].

fn main() -> std::process::ExitCode {
    timcast::run(std::env::args_os())
}
