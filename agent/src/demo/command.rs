//! `mohur demo`: the agent with a simulated card (in-process, or behind real pcscd
//! with `--pcsc`) and the demo portal on `http://localhost:PORT`.

use crate::{serve, AgentArgs, Stop};
use clap::{Args, ValueEnum};
use mohur_agent::agent::Agent;
use mohur_agent::demo::portal::{self, Portal};
use mohur_agent::demo::relying_party::{NonceStore, TrustStore};
use mohur_agent::tokens::card::CardToken;
use mohur_agent::{Error, Result};
use mohur_card_sim::{provision, ProvisionOptions, SimCard, SimTransport, StateStore};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum DemoCard {
    /// An Azerbaijani ID card (AzeDIT, P-384 keys, PIN1 + PIN2).
    Azedit,
    /// A PIV card (RSA-2048 authentication, P-256 signing).
    Piv,
}

#[derive(Args)]
pub(crate) struct DemoArgs {
    /// Port of the demo portal on localhost (0: any free port).
    #[arg(long, default_value_t = 29171)]
    portal_port: u16,
    /// The simulated card.
    #[arg(long, value_enum, default_value_t = DemoCard::Azedit)]
    card: DemoCard,
    /// Use the cards in PC/SC readers (e.g. the simulator behind pcscd + vpcd) instead
    /// of the in-process simulated card.
    #[arg(long)]
    pcsc: bool,
    /// Where the demo keeps its test PKI, card and settings (default ~/.cache/mohur/demo).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Start with a new card (all PIN tries back).
    #[arg(long)]
    fresh: bool,
    #[command(flatten)]
    agent: AgentArgs,
}

/// `~/.cache/mohur/demo`, `%LOCALAPPDATA%\mohur\cache\demo` on Windows.
fn default_dir() -> PathBuf {
    mohur_platform::dirs::user_dir(mohur_platform::dirs::Kind::Cache)
        .unwrap_or_else(|| PathBuf::from("mohur"))
        .join("demo")
}

pub(crate) fn run(args: DemoArgs) -> Result<()> {
    let dir = args.dir.clone().unwrap_or_else(default_dir);
    let pki = dir.join("pki");
    if !pki.join("root-ca.pem").exists() {
        mohur_certs::generate(&pki).map_err(|e| Error::Internal(format!("test PKI: {e}")))?;
    }
    let trust = TrustStore::from_pem_files(&pki.join("root-ca.pem"), &pki.join("chain.pem"))?;

    let portal_listener = std::net::TcpListener::bind(("127.0.0.1", args.portal_port))
        .map_err(|e| Error::Internal(format!("cannot listen on 127.0.0.1:{}: {e}", args.portal_port)))?;
    let portal_port = portal_listener.local_addr()?.port();
    let origin = format!("http://localhost:{portal_port}");

    let mut config = args.agent.config()?;
    config.dev = true;
    config.allowed_origins.push(origin.clone());
    config.pcsc = args.pcsc;
    config.intermediates.get_or_insert_with(|| pki.join("chain.pem"));
    config.data_dir.get_or_insert_with(|| dir.join("data"));
    config.state_dir.get_or_insert_with(|| dir.join("state"));
    crate::init_logging(&config.log_level);

    let (card_note, card) = if args.pcsc {
        ("the cards in your PC/SC readers".to_owned(), None)
    } else {
        let (profile, holder, note) = match args.card {
            DemoCard::Azedit => (
                mohur_card_sim::Profile::Azedit,
                "azedit",
                "simulated AzeDIT card of ALIYEVA LEYLA: PIN1 1234, PIN2 12345, PUK 12345678",
            ),
            DemoCard::Piv => {
                (mohur_card_sim::Profile::Piv, "piv", "simulated PIV card of MAMMADOV ELVIN: PIN 123456, PUK 12345678")
            }
        };
        let state_file = dir.join(format!("card-{holder}.json"));
        let state = match StateStore::load(&state_file) {
            Ok(s) if !args.fresh => s,
            _ => provision(&pki.join(holder), &ProvisionOptions::new(profile))
                .map_err(|e| Error::Internal(format!("simulated card: {e}")))?,
        };
        let sim = SimCard::new(state, StateStore::File(state_file))
            .map_err(|e| Error::Internal(format!("simulated card: {e}")))?;
        (note.to_owned(), Some(sim))
    };

    serve(config, move |agent: &Arc<Agent>, runtime, stop: Stop, port| {
        let agent_url = format!("ws://127.0.0.1:{port}/v1");
        if let Some(sim) = card {
            let opened = mohur_apdu::open(Box::new(SimTransport::new(sim)))?;
            agent.manager.add(Box::new(CardToken::new(opened, "simulated")), None)?;
        }
        let portal =
            Arc::new(Portal { origin: origin.clone(), agent_url, trust, nonces: NonceStore::new(portal::NONCE_TTL) });
        runtime.spawn(portal::serve(portal, portal_listener, stop));
        println!("mohur demo: portal at {origin}/ ({card_note})");
        Ok(())
    })
}
