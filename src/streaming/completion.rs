//! `riff streaming completion <shell>`: the shell completion script of the whole `riff` command.

/// The arguments of `completion`.
#[derive(clap::Args)]
pub struct Args {
    /// The shell to complete in.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// Prints the completion script of `root` (the `riff` command) for the shell of `args`.
pub fn print(args: Args, mut root: clap::Command) -> anyhow::Result<()> {
    clap_complete::generate(args.shell, &mut root, "riff", &mut std::io::stdout());
    Ok(())
}
