//! Prompt templates (minijinja) from the `prompts/` folder: `system.j2`, `answer.j2` and
//! `rewrite.j2` (and the eval judge's `judge_*.j2`), loaded and compiled once at start-up. A
//! template that does not compile stops start-up with its file and line, instead of failing on
//! the first customer.

use minijinja::Environment;
use serde::Serialize;
use std::path::Path;

/// The templates every LLM call uses.
pub const TEMPLATES: [&str; 3] = ["system.j2", "answer.j2", "rewrite.j2"];

pub struct Prompts {
    env: Environment<'static>,
}

impl Prompts {
    /// Loads and compiles the answer templates ([`TEMPLATES`]) in `dir`.
    pub fn load(dir: &Path) -> Result<Self, String> {
        Self::load_set(dir, &TEMPLATES)
    }

    /// Loads and compiles the named templates in `dir` (the eval judge has its own set, which
    /// the server never needs).
    pub fn load_set(dir: &Path, names: &[&str]) -> Result<Self, String> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        for &name in names {
            let path = dir.join(name);
            let source =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            env.add_template_owned(name.to_string(), source)
                .map_err(|e| {
                    format!(
                        "{}:{}: {}",
                        path.display(),
                        e.line().unwrap_or(0),
                        e.detail().unwrap_or(&e.to_string())
                    )
                })?;
        }
        Ok(Self { env })
    }

    /// Renders one template with `context`.
    pub fn render<C: Serialize>(&self, name: &str, context: C) -> Result<String, String> {
        let template = self.env.get_template(name).map_err(|e| e.to_string())?;
        template
            .render(context)
            .map(|s| s.trim().to_string())
            .map_err(|e| format!("prompts/{name}:{}: {e}", e.line().unwrap_or(0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_templates_compile_and_render() {
        let prompts =
            Prompts::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts")).unwrap();
        let system = prompts
            .render(
                "system.j2",
                minijinja::context! { brand => "Acme", support_email => "help@acme.test" },
            )
            .unwrap();
        assert!(
            system.contains("Acme")
                && system.contains("NO_ANSWER")
                && system.contains("help@acme.test")
        );
        let user = prompts
            .render(
                "answer.j2",
                minijinja::context! {
                    brand => "Acme",
                    passages => vec![minijinja::context! { title => "Refunds", text => "Within 7 days." }],
                    history => Vec::<String>::new(),
                    question => "refund?",
                },
            )
            .unwrap();
        assert!(
            user.contains("<passage number=\"1\" title=\"Refunds\">\nWithin 7 days.\n</passage>"),
            "{user}"
        );
        assert!(user.contains("<question>\nrefund?\n</question>"));
    }

    #[test]
    fn a_broken_template_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        for name in TEMPLATES {
            std::fs::write(dir.path().join(name), "ok").unwrap();
        }
        std::fs::write(dir.path().join("answer.j2"), "line one\n{% for x in %}\n").unwrap();
        let err = Prompts::load(dir.path()).err().unwrap();
        assert!(err.contains("answer.j2:2:"), "{err}");
    }
}
