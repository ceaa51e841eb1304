//! Loading the configuration: embedded defaults, then `config.yaml` (or `--config FILE`), then
//! `FLICK_<SECTION>__<KEY>` environment variables.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Yaml};
use flick_domain::config::Config;

/// The commented example configuration: every key with its default. `flick print-config` prints it.
pub const EXAMPLE: &str = include_str!("../../../config.yaml");

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    Missing(PathBuf),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Loads the configuration. Without `--config`, `./config.yaml` is read when it exists.
pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
    let mut figment = Figment::from(Serialized::defaults(Config::default()));
    match explicit {
        Some(path) if !path.exists() => return Err(ConfigError::Missing(path.to_owned())),
        Some(path) => figment = figment.merge(Yaml::file(path)),
        None => {
            if Path::new("config.yaml").exists() {
                figment = figment.merge(Yaml::file("config.yaml"));
            }
        }
    }
    // Figment reads `FLICK_ADMIN__TOKEN=123` as a number; the config's string keys take it back as text.
    // Only FLICK_<SECTION>__<KEY> names are configuration; FLICK_BIN and the like belong to other tools.
    let env = Env::prefixed("FLICK_").filter(|key| key.as_str().contains("__")).split("__").lowercase(true);
    let figment = figment.merge(env);
    let config: Config = figment.extract().map_err(|e| ConfigError::Invalid(e.to_string()))?;
    config.validate().map_err(|problems| ConfigError::Invalid(problems.join("; ")))?;
    Ok(config)
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's Jail closures return its own large error type
mod tests {
    use super::*;

    #[test]
    fn the_example_file_documents_exactly_the_defaults() {
        let parsed: Config = serde_yaml::from_str(EXAMPLE).expect("config.yaml parses");
        assert_eq!(parsed, Config::default(), "config.yaml must state the built-in defaults");
        // Every key of the defaults appears in the example (not only defaulted by serde).
        let defaults = serde_yaml::to_value(Config::default()).unwrap();
        let example: serde_yaml::Value = serde_yaml::from_str(EXAMPLE).unwrap();
        for (section, keys) in defaults.as_mapping().unwrap() {
            for (key, _) in keys.as_mapping().unwrap() {
                let present = example.get(section).and_then(|s| s.as_mapping()).is_some_and(|m| m.contains_key(key));
                assert!(present, "config.yaml lacks {section:?}.{key:?}");
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, failure_persistence: None, ..Default::default() })]

        /// Bounded fuzzing of configuration text: a parse error or a configuration, never a panic;
        /// whatever parses is validated without panicking either.
        #[test]
        fn any_yaml_is_refused_or_validated(
            section in "server|storage|upload|processing|admin|share|web|log|[a-z]{1,6}",
            key in "[a-z_]{1,24}",
            value in "-?[0-9]{1,20}(\\.[0-9]{0,3})?|true|null|~|\\[\\]|\\{\\}|\"\\PC{0,12}\"|[a-z./]{0,12}",
        ) {
            let text = format!("{section}:\n  {key}: {value}\n");
            if let Ok(c) = serde_yaml::from_str::<Config>(&text) {
                let _ = c.validate();
                let _ = c.database_url();
                let _ = c.server.base_url();
            }
        }
    }

    #[test]
    fn environment_overrides_the_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("flick.yaml", "server:\n  port: 9001\nupload:\n  max_bytes: 1000\n")?;
            jail.set_env("FLICK_SERVER__PORT", "9000");
            jail.set_env("FLICK_ADMIN__TOKEN", "12345678901234567890");
            jail.set_env("FLICK_BIN", "/not/configuration");
            let c = load(Some(Path::new("flick.yaml"))).map_err(|e| e.to_string())?;
            assert_eq!(c.server.port, 9000);
            assert_eq!(c.upload.max_bytes, 1000);
            assert_eq!(c.admin.token.as_deref(), Some("12345678901234567890"));
            Ok(())
        });
    }

    #[test]
    fn bad_values_are_refused_with_a_reason() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("FLICK_PROCESSING__SEGMENT_SECONDS", "0");
            let e = load(None).unwrap_err().to_string();
            assert!(e.contains("segment_seconds"), "{e}");
            jail.set_env("FLICK_PROCESSING__SEGMENT_SECONDS", "4");
            jail.set_env("FLICK_SERVER__PORT", "not-a-port");
            assert!(load(None).is_err());
            Ok(())
        });
    }
}
