//! `dougdb-server`: runs one DougDB node (`dougdb-server node ...`) or a facade
//! (`dougdb-server facade ...`); see [`dougdb_server::cli`].

fn main() {
    std::process::exit(dougdb_server::cli::main_with_args(std::env::args_os()));
}
