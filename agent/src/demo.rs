//! `mohur demo` (being written).

use clap::Args;

#[derive(Args)]
pub(crate) struct DemoArgs {}

pub(crate) fn run(_args: DemoArgs) -> mohur_agent::Result<()> {
    Err(mohur_agent::Error::Internal("the demo is not there yet".into()))
}
