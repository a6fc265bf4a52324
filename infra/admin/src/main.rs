//! iron-admin: the platform operator's CLI. Works on the embedded data dir or on the DynamoDB
//! table named in the environment, through the same repositories the API uses.

fn main() -> std::process::ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("iron-admin: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(iron_admin::run(std::env::args_os())) {
        Ok(output) => {
            print!("{output}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("iron-admin: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
