//! `mohur-card-sim`: see [`mohur_card_sim::cli`].
fn main() {
    std::process::exit(mohur_card_sim::cli::main());
}
