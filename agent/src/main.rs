//! `mohur`: the signing agent, its demo, and (later) the card tools.

use clap::{Args, Parser, Subcommand};
use mohur_agent::access::origins::{normalize_origin, Origins};
use mohur_agent::agent::Agent;
use mohur_agent::cli;
use mohur_agent::config::Config;
use mohur_agent::i18n::Lang;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[cfg(feature = "demo")]
#[path = "demo/command.rs"]
mod demo;

#[derive(Parser)]
#[command(
    name = "mohur",
    version,
    about = "ID cards and USB tokens for e-government portals: the signing agent and its tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Language of messages: az, hy or en (default: from the locale, or `language` in
    /// the configuration).
    #[arg(long, global = true, value_name = "LANG")]
    lang: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the signing agent (WebSocket on loopback for portals).
    Agent(AgentArgs),
    /// Run the agent with a simulated card and a demo portal, and print the portal's address.
    #[cfg(feature = "demo")]
    Demo(demo::DemoArgs),
    /// List the PC/SC readers and what is in them.
    Readers(cli::readers::Args),
    /// Show the cards and tokens: profile, holder, certificates, PIN/PUK tries left.
    Status(cli::status::Args),
    /// Show or export the certificates of the cards and tokens.
    Certs(cli::certs::Args),
    /// Change, unblock (with the PUK) or activate a PIN.
    Pin(cli::pin::Args),
    /// Sign a file with the card: a CAdES signature FILE.p7s.
    Sign(cli::sign::Args),
    /// Check the signatures of a PDF, a .p7s or an ASiC-E container.
    Verify(cli::verify::Args),
    /// Check everything mohur needs, and say how to fix what is wrong.
    Doctor(cli::doctor::Args),
    /// Serve one Web eID request from a browser on stdin/stdout (what the browser runs as
    /// the native messaging host `eu.webeid`).
    WebEid {
        /// Configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Show or revoke the web sites allowed to use the agent.
    Origins {
        #[command(subcommand)]
        action: OriginsAction,
        /// Configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

#[derive(Args, Clone, Default)]
pub(crate) struct AgentArgs {
    /// Configuration file (default: $MOHUR_CONFIG or ~/.config/mohur/agent.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Port on 127.0.0.1 (default 29170).
    #[arg(long)]
    port: Option<u16>,
    /// Dev mode: also accept http://localhost origins.
    #[arg(long)]
    dev: bool,
    /// Allow this origin without asking (repeatable).
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origins: Vec<String>,
    /// Do not watch PC/SC readers.
    #[arg(long)]
    no_pcsc: bool,
    /// Use only this PC/SC reader (exact name; repeatable).
    #[arg(long = "reader", value_name = "NAME")]
    readers: Vec<String>,
    /// Load this vendor PKCS#11 module (repeatable).
    #[arg(long = "pkcs11-module", value_name = "PATH")]
    pkcs11_modules: Vec<PathBuf>,
    /// Do not probe the well-known vendor PKCS#11 modules.
    #[arg(long)]
    no_well_known_modules: bool,
    /// Never show a tray icon (nor is there one without a display, or in a build
    /// without the `tray` feature).
    #[arg(long)]
    no_tray: bool,
}

#[derive(Subcommand)]
enum OriginsAction {
    /// List allowed origins.
    List,
    /// Forget an origin the citizen allowed.
    Revoke {
        /// The origin, e.g. https://e-gov.az
        origin: String,
    },
}

impl AgentArgs {
    pub(crate) fn config(&self) -> mohur_agent::Result<Config> {
        let mut c = Config::load(self.config.as_deref())?;
        if let Some(p) = self.port {
            c.port = p;
        }
        c.dev |= self.dev;
        c.allowed_origins.extend(self.allow_origins.iter().cloned());
        if self.no_pcsc {
            c.pcsc = false;
        }
        c.readers.extend(self.readers.iter().cloned());
        c.pkcs11_modules.extend(self.pkcs11_modules.iter().cloned());
        if self.no_well_known_modules {
            c.probe_well_known_modules = false;
        }
        Ok(c)
    }
}

fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MOHUR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Turns true when the agent shuts down.
pub(crate) type Stop = tokio::sync::watch::Receiver<bool>;

/// Builds the agent for `config`, watches its token sources, serves until Ctrl-C or
/// SIGTERM. `setup` adds tokens or servers of its own (the demo) once the agent exists.
#[cfg(feature = "demo")]
pub(crate) fn serve(
    config: Config,
    setup: impl FnOnce(&Arc<Agent>, &tokio::runtime::Handle, Stop, u16) -> mohur_agent::Result<()>,
) -> mohur_agent::Result<()> {
    serve_with(config, setup, None)
}

/// Something that must own the main thread while the agent serves (the tray: GTK's
/// and tao's loop). It gets the agent, the runtime, a way to stop the server, and a
/// channel that is closed or sent to when the server has stopped.
type Foreground = Box<
    dyn FnOnce(
        Arc<Agent>,
        tokio::runtime::Handle,
        Arc<tokio::sync::watch::Sender<bool>>,
        std::sync::mpsc::Receiver<()>,
    ) -> mohur_agent::Result<()>,
>;

/// The tray for `mohur agent`, when it is built in, not refused, and has a display.
fn tray(args: &AgentArgs) -> Option<Foreground> {
    #[cfg(feature = "tray")]
    if !args.no_tray && mohur_agent::tray::display_available() {
        return Some(Box::new(mohur_agent::tray::ui::run));
    }
    let _ = args;
    None
}

/// `serve`, with `foreground` on the main thread and the runtime on another when given.
fn serve_with(
    config: Config,
    setup: impl FnOnce(&Arc<Agent>, &tokio::runtime::Handle, Stop, u16) -> mohur_agent::Result<()>,
    foreground: Option<Foreground>,
) -> mohur_agent::Result<()> {
    // One agent per user session on Windows (a session's mutex; Linux has one session
    // per user, where the port says it).
    #[cfg(windows)]
    let _single = match mohur_agent::windows::SingleInstance::acquire(&format!("mohur-agent-{}", config.port)) {
        Ok(Some(guard)) => guard,
        Ok(None) => return Err(mohur_agent::Error::AlreadyRunning(config.port)),
        Err(e) => return Err(mohur_agent::Error::Internal(format!("the session's agent mutex: {e}"))),
    };
    let listeners = mohur_agent::server::bind(config.port).map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => mohur_agent::Error::AlreadyRunning(config.port),
        _ => mohur_agent::Error::Internal(format!("cannot listen on 127.0.0.1:{}: {e}", config.port)),
    })?;
    let port = listeners[0].local_addr()?.port();
    let prompter = mohur_agent::dialogs::from_environment(Duration::from_secs(config.prompt_timeout_seconds));
    let agent = Agent::new(config, prompter)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| mohur_agent::Error::Internal(e.to_string()))?;
    if agent.config.pcsc {
        agent.manager.watch_pcsc(agent.config.readers.clone());
    }
    let modules = agent.config.pkcs11_module_paths();
    if !modules.is_empty() {
        let counter = mohur_agent::tokens::retry_counter::RetryCounter::open(agent.config.state_dir())?;
        agent.manager.watch_pkcs11(modules, counter);
    }
    let tls = mohur_agent::server::tls::from_config(&agent.config);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stop_tx = Arc::new(stop_tx);
    setup(&agent, runtime.handle(), stop_rx.clone(), port)?;
    let on_signal = stop_tx.clone();
    let front_agent = agent.clone();
    let served = async move {
        tokio::spawn(async move {
            shutdown_signal().await;
            let _ = on_signal.send(true);
        });
        match tls {
            Some(_) => println!("mohur agent: listening on ws://127.0.0.1:{port}/v1 and wss://127.0.0.1:{port}/v1"),
            None => println!("mohur agent: listening on ws://127.0.0.1:{port}/v1"),
        }
        tracing::info!(port, dev = agent.config.dev, wss = tls.is_some(), "agent ready");
        mohur_agent::server::serve(agent, listeners, tls, stop_rx).await
    };
    let Some(foreground) = foreground else {
        runtime.block_on(served)?;
        return Ok(());
    };
    // The runtime moves to a thread of its own; `done` tells the foreground it ended.
    let handle = runtime.handle().clone();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let server = std::thread::Builder::new().name("mohur-runtime".into()).spawn(move || {
        let result = runtime.block_on(served);
        let _ = done_tx.send(());
        result
    })?;
    if let Err(e) = foreground(front_agent, handle, stop_tx, done_rx) {
        tracing::warn!(error = %e, "going on without the tray");
    }
    server.join().map_err(|_| mohur_agent::Error::Internal("the agent's runtime panicked".into()))??;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// The language from `--lang`, else from the configuration file (if it names one).
fn set_language(flag: Option<&str>) {
    let configured = || Config::load(None).ok().and_then(|c| c.language);
    if let Some(lang) = flag.map(str::to_owned).or_else(configured).as_deref().and_then(Lang::parse) {
        mohur_agent::i18n::set_language(Some(lang));
    }
}

fn main() -> ExitCode {
    // A browser starts the Web eID host as `mohur chrome-extension://ID/` (its manifest
    // cannot add a subcommand): mohur_agent::web_eid::launched_by_browser.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if mohur_agent::web_eid::launched_by_browser(&args) {
        init_logging("warn");
        return mohur_agent::web_eid::main(None);
    }
    let cli = Cli::parse();
    set_language(cli.lang.as_deref());
    let result = match cli.command {
        Command::Agent(args) => args.config().and_then(|c| {
            init_logging(&c.log_level);
            serve_with(c, |_, _, _, _| Ok(()), tray(&args))
        }),
        #[cfg(feature = "demo")]
        Command::Demo(args) => demo::run(args),
        Command::Readers(args) => return cli::readers::run(args),
        Command::Status(args) => return cli::status::run(args),
        Command::Certs(args) => return cli::certs::run(args),
        Command::Pin(args) => return cli::pin::run(args),
        Command::Sign(args) => return cli::sign::run(args),
        Command::Verify(args) => return cli::verify::run(args),
        Command::Doctor(args) => return cli::doctor::run(args),
        Command::Origins { action, config } => origins(action, config),
        Command::WebEid { config } => {
            init_logging("warn");
            return mohur_agent::web_eid::main(config.as_deref());
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mohur: {e}");
            // Started without a console (mohurw.exe: the Start menu, a second login): the
            // citizen would see nothing, so say it in a dialog.
            if matches!(e, mohur_agent::Error::AlreadyRunning(_)) && std::env::var_os("MOHUR_NO_CONSOLE").is_some() {
                let prompter = mohur_agent::dialogs::from_environment(Duration::from_secs(60));
                let _ = prompter.message(
                    &mohur_agent::dialogs::texts::title(),
                    &mohur_agent::tr!("already-running"),
                    &mohur_agent::Cancel::new(),
                );
            }
            ExitCode::FAILURE
        }
    }
}

fn origins(action: OriginsAction, config: Option<PathBuf>) -> mohur_agent::Result<()> {
    let config = Config::load(config.as_deref())?;
    let origins = Origins::load(config.data_dir(), &config.allowed_origins)?;
    match action {
        OriginsAction::List => {
            for o in origins.configured() {
                println!("{o}\t(configuration)");
            }
            for o in origins.remembered() {
                println!("{o}\t(allowed by you)");
            }
        }
        OriginsAction::Revoke { origin } => {
            let origin = normalize_origin(&origin).map_err(mohur_agent::Error::BadRequest)?;
            if origins.revoke(&origin)? {
                println!("revoked {origin}");
            } else {
                println!("{origin} was not allowed");
            }
        }
    }
    Ok(())
}
