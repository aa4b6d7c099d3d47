//! Downloads against the fake Cronofy: a Bearer-checking API that redirects to a second host
//! which refuses Authorization, serving generated bodies with faults on demand. Here, what the
//! modules share.

#[path = "../common/mod.rs"]
mod common;
mod delivery;
mod duplicates;
mod faults;
mod open_ended;
mod safety;

use common::API_KEY;
use cronofy_notify_resources::Location;
use cronofy_notify_test_support::fake::{FakeCronofy, ResourceSpec};

const MIB: u64 = 1 << 20;

async fn fake_with(resources: &[(&str, u64, &str)]) -> FakeCronofy {
    let fake = FakeCronofy::start(API_KEY).await.unwrap();
    for (name, size, content_type) in resources {
        fake.add(name, ResourceSpec::generated(*size, content_type));
    }
    fake
}

fn file_of(location: &Option<Location>) -> std::path::PathBuf {
    match location {
        Some(Location::File(path)) => path.clone(),
        other => panic!("expected a file, got {other:?}"),
    }
}
