//! Every message a citizen reads — dialogs, CLI, `mohur doctor`, tray, notifications —
//! in Azerbaijani, Armenian or English, from Project Fluent files
//! (`agent/locales/<lang>/*.ftl`, compiled into the binary).
//!
//! The language is `MOHUR_LANG` if set, else the first of `LC_ALL`, `LC_MESSAGES`,
//! `LANG` that names one (`az_AZ.UTF-8` → Azerbaijani, `hy_AM.UTF-8` → Armenian; on
//! Windows the user's locale, `az-Latn-AZ`, `hy-AM`, stands for `LANG`),
//! else English; [`set_language`] overrides it (`--lang`, `language =` in the
//! configuration). A message missing in a language falls back to English; the
//! `every_message_in_every_language` test keeps that from happening.
//!
//! ```
//! use mohur_agent::tr;
//! let s = tr!("tries-left", n = 3);
//! assert!(!s.is_empty());
//! ```

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use std::sync::{OnceLock, RwLock};
use unic_langid::LanguageIdentifier;

/// The languages mohur speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// English.
    En,
    /// Azerbaijani (Latin script).
    Az,
    /// Armenian.
    Hy,
}

impl Lang {
    /// Every language.
    pub const ALL: [Lang; 3] = [Lang::En, Lang::Az, Lang::Hy];

    /// BCP 47 code.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Az => "az",
            Lang::Hy => "hy",
        }
    }

    /// `az`, `az_AZ.UTF-8`, `hy-AM`, `en`… → a language; `None` for others.
    pub fn parse(s: &str) -> Option<Lang> {
        let code: String = s.chars().take_while(|c| c.is_ascii_alphabetic()).collect::<String>().to_ascii_lowercase();
        match code.as_str() {
            "az" | "aze" => Some(Lang::Az),
            "hy" | "hye" | "arm" => Some(Lang::Hy),
            "en" | "eng" => Some(Lang::En),
            _ => None,
        }
    }
}

/// The `.ftl` files of a language: `(file name, text)`. One file per area so that
/// each part of mohur keeps its messages in one obvious place.
pub fn resources(lang: Lang) -> &'static [(&'static str, &'static str)] {
    macro_rules! files {
        ($dir:literal) => {
            &[
                ("agent.ftl", include_str!(concat!("../locales/", $dir, "/agent.ftl"))),
                ("cli.ftl", include_str!(concat!("../locales/", $dir, "/cli.ftl"))),
                ("doctor.ftl", include_str!(concat!("../locales/", $dir, "/doctor.ftl"))),
                ("tray.ftl", include_str!(concat!("../locales/", $dir, "/tray.ftl"))),
            ]
        };
    }
    match lang {
        Lang::En => files!("en"),
        Lang::Az => files!("az"),
        Lang::Hy => files!("hy"),
    }
}

/// Builds the bundle of `lang` (errors in a file are reported by the tests; at run
/// time the messages that parsed are used).
pub fn bundle(lang: Lang) -> FluentBundle<FluentResource> {
    let id: LanguageIdentifier = lang.code().parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // No Unicode isolation marks: the text goes to terminals and pinentry too.
    bundle.set_use_isolating(false);
    for (_, text) in resources(lang) {
        let res = FluentResource::try_new((*text).to_owned()).unwrap_or_else(|(res, _)| res);
        let _ = bundle.add_resource(res);
    }
    bundle
}

struct Bundles {
    en: FluentBundle<FluentResource>,
    az: FluentBundle<FluentResource>,
    hy: FluentBundle<FluentResource>,
}

fn bundles() -> &'static Bundles {
    static B: OnceLock<Bundles> = OnceLock::new();
    B.get_or_init(|| Bundles { en: bundle(Lang::En), az: bundle(Lang::Az), hy: bundle(Lang::Hy) })
}

static OVERRIDE: RwLock<Option<Lang>> = RwLock::new(None);

/// Forces a language (`--lang`, the configuration); `None` goes back to the
/// environment's.
pub fn set_language(lang: Option<Lang>) {
    *OVERRIDE.write().unwrap_or_else(|e| e.into_inner()) = lang;
}

/// The language in force.
pub fn current() -> Lang {
    if let Some(l) = *OVERRIDE.read().unwrap_or_else(|e| e.into_inner()) {
        return l;
    }
    #[cfg(windows)]
    {
        // Windows sets no LANG: the user's locale (az-Latn-AZ, hy-AM) unless one is set.
        static WINDOWS: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
        let locale = WINDOWS.get_or_init(crate::windows::user_locale).clone();
        from_environment(|k| std::env::var(k).ok().or_else(|| (k == "LANG").then(|| locale.clone()).flatten()))
    }
    #[cfg(not(windows))]
    from_environment(|k| std::env::var(k).ok())
}

/// The language the environment asks for (see the module doc).
pub fn from_environment(var: impl Fn(&str) -> Option<String>) -> Lang {
    for key in ["MOHUR_LANG", "LC_ALL", "LC_MESSAGES", "LANG"] {
        if let Some(v) = var(key).filter(|v| !v.is_empty()) {
            // The first variable that is set decides, as POSIX says; C/POSIX mean English.
            return Lang::parse(&v).unwrap_or(Lang::En);
        }
    }
    Lang::En
}

/// Message `id` in `lang` with `args`; English if the language lacks it; the id
/// itself if no language has it (a bug the tests catch).
pub fn message_in(lang: Lang, id: &str, args: Option<&FluentArgs>) -> String {
    let b = bundles();
    let bundle = match lang {
        Lang::En => &b.en,
        Lang::Az => &b.az,
        Lang::Hy => &b.hy,
    };
    for bundle in [bundle, &b.en] {
        if let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) {
            let mut errors = Vec::new();
            let text = bundle.format_pattern(pattern, args, &mut errors);
            if !errors.is_empty() {
                tracing::debug!(id, ?errors, "message formatted with errors");
            }
            return text.into_owned();
        }
    }
    tracing::warn!(id, "message missing in every language");
    id.to_owned()
}

/// Message `id` in the current language.
pub fn message(id: &str, args: Option<&FluentArgs>) -> String {
    message_in(current(), id, args)
}

/// `tr!("id")` or `tr!("id", name = value, …)`: a message in the current language.
#[macro_export]
macro_rules! tr {
    ($id:expr) => {
        $crate::i18n::message($id, None)
    };
    ($id:expr, $($name:ident = $value:expr),+ $(,)?) => {{
        let mut args = fluent_bundle::FluentArgs::new();
        $( args.set(stringify!($name), fluent_bundle::FluentValue::from($value)); )+
        $crate::i18n::message($id, Some(&args))
    }};
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn ids(lang: Lang, file: &str) -> BTreeSet<String> {
        let text = resources(lang).iter().find(|(f, _)| *f == file).unwrap().1;
        let res = FluentResource::try_new(text.to_owned())
            .unwrap_or_else(|(_, e)| panic!("{}/{file} does not parse: {e:?}", lang.code()));
        res.entries()
            .filter_map(|e| match e {
                fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_owned()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn every_message_in_every_language() {
        for (file, _) in resources(Lang::En) {
            let english = ids(Lang::En, file);
            for lang in [Lang::Az, Lang::Hy] {
                let other = ids(lang, file);
                let missing: Vec<_> = english.difference(&other).collect();
                let extra: Vec<_> = other.difference(&english).collect();
                assert!(missing.is_empty(), "{}/{file} lacks {missing:?}", lang.code());
                assert!(extra.is_empty(), "{}/{file} has messages English lacks: {extra:?}", lang.code());
            }
        }
    }

    #[test]
    fn every_message_formats_in_every_language() {
        let mut args = FluentArgs::new();
        for name in [
            "n", "holder", "origin", "context", "secret", "min", "max", "name", "hash", "count", "what", "software",
            "module", "state", "note", "url", "pages", "field", "tsa", "who",
        ] {
            args.set(name, "x");
        }
        for lang in Lang::ALL {
            let bundle = bundle(lang);
            for (file, _) in resources(lang) {
                for id in ids(lang, file) {
                    let msg = bundle.get_message(&id).unwrap();
                    let pattern = msg.value().unwrap_or_else(|| panic!("{}: {id} has no value", lang.code()));
                    let mut errors = Vec::new();
                    let text = bundle.format_pattern(pattern, Some(&args), &mut errors);
                    assert!(errors.is_empty(), "{}/{file} {id}: {errors:?}", lang.code());
                    assert!(!text.trim().is_empty(), "{}/{file} {id} is empty", lang.code());
                }
            }
        }
    }

    #[test]
    fn language_from_the_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())
        };
        assert_eq!(from_environment(env(&[("LANG", "az_AZ.UTF-8")])), Lang::Az);
        assert_eq!(from_environment(env(&[("LANG", "hy_AM.UTF-8")])), Lang::Hy);
        assert_eq!(from_environment(env(&[("LC_ALL", "C"), ("LANG", "az_AZ.UTF-8")])), Lang::En);
        assert_eq!(from_environment(env(&[("MOHUR_LANG", "hy"), ("LANG", "az_AZ.UTF-8")])), Lang::Hy);
        assert_eq!(from_environment(env(&[])), Lang::En);
    }

    #[test]
    fn plurals_follow_the_language() {
        let mut one = FluentArgs::new();
        one.set("n", 1);
        let mut three = FluentArgs::new();
        three.set("n", 3);
        assert_eq!(message_in(Lang::En, "tries-left", Some(&one)), "1 try left");
        assert_eq!(message_in(Lang::En, "tries-left", Some(&three)), "3 tries left");
        assert!(message_in(Lang::Az, "tries-left", Some(&three)).contains('3'));
        assert!(message_in(Lang::Hy, "tries-left", Some(&three)).contains('3'));
    }
}
