//! `tmrt memory`: placeholder until the memory model lands (issue 2).

use clap::Args;

use super::config_args::ConfigArgs;

#[derive(Debug, Args)]
pub struct MemoryArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
}

pub fn run(args: MemoryArgs) -> u8 {
    match args.config.load() {
        Ok(conf) => {
            for (k, v) in conf.iter() {
                println!("{k}: {v}");
            }
            0
        }
        Err(e) => {
            eprintln!("tmrt memory: {e}");
            1
        }
    }
}
