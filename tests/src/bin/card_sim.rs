//! The card simulator's CLI, built as a binary of this package so integration
//! tests can start it as a separate process (`CARGO_BIN_EXE_mohur-tests-card-sim`).
fn main() {
    std::process::exit(mohur_card_sim::cli::main());
}
