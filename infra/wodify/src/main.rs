//! `cargo run -p iron-wodify-fake -- --port 5010 --key demo-wodify-key`: a fake Wodify on loopback.

use clap::Parser;
use iron_wodify_fake::FakeWodify;
use iron_wodify_fake::gym::GymSpec;

#[derive(Parser)]
#[command(name = "wodify-fake", about = "A fake Wodify REST API over a generated gym")]
struct Args {
    #[arg(long, default_value_t = 5010)]
    port: u16,
    /// An API key the fake accepts (repeat for more).
    #[arg(long = "key", default_value = "wodify-demo-key-0000")]
    keys: Vec<String>,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// The gym's today (history ends the day before); defaults to the real today.
    #[arg(long)]
    today: Option<chrono::NaiveDate>,
    /// No token bucket (benchmarks of the sync itself).
    #[arg(long)]
    no_rate_limit: bool,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let today = args.today.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let fake =
        FakeWodify::new(GymSpec { seed: args.seed, clients: args.clients, today, ..GymSpec::default() }, args.keys);
    if args.no_rate_limit {
        fake.update_faults(|f| f.rate_limit = None);
    }
    let running = fake.spawn(args.port).await?;
    println!("fake Wodify on {} (today {today})", running.base_url());
    let _ = running.task.await;
    Ok(())
}
