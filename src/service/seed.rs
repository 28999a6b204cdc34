//! `movie-bag seed`: synthetic movies for demos and benchmarks, generated inside the database.

use std::time::Instant;

use anyhow::Context;

use crate::auth::password::{PasswordHasher, WhenClientLeaves};
use crate::domain::now;
use crate::domain::{Email, MovieId, Password, Role, UserId};
use crate::posters::title_card;
use crate::store::{DynStore, GuardedWrite, MovieGuard, NewUser, PosterWrite, SEED_ID_PREFIX, SeedBatch};

/// The newest movies of a seeding that get a drawn poster: enough for a demo's first page,
/// few enough that seeding a million movies still takes seconds (each poster is encoded at three
/// widths, some 20 ms in a release build).
pub const SEED_POSTERS: u64 = 50;

/// The owner of every synthetic movie.
pub const SEED_EMAIL: &str = "seed@movie-bag.local";
/// Rows per transaction: big enough to be fast, small enough to show progress and keep the
/// SQLite write lock for no more than a moment at a time.
const BATCH: u64 = 50_000;

/// Adds `count` synthetic movies owned by [`SEED_EMAIL`]. Refuses a database that has other
/// users unless `force`: fake movies would mix into a real catalogue.
pub async fn seed(store: &DynStore, count: u64, force: bool, mut progress: impl FnMut(u64, u64)) -> anyhow::Result<()> {
    let seed_email = Email::parse(SEED_EMAIL).map_err(anyhow::Error::msg)?;
    let real_users = store.count_users_other_than(&seed_email).await?;
    if real_users > 0 && !force {
        anyhow::bail!(
            "this database has {real_users} real user(s): seeding would mix synthetic movies into a real catalogue \
             (pass --force to do it anyway)"
        );
    }
    let owner_id = match store.user_by_email(&seed_email).await? {
        Some(user) => user.id,
        None => {
            // A real, unguessable password: the seed account exists only to own the movies.
            let hasher = PasswordHasher::new(1, 1)?;
            let password = Password::parse(&crate::auth::secret_token::generate(), 8).map_err(anyhow::Error::msg)?;
            let hash = hasher.hash(&password, WhenClientLeaves::Finish).await?;
            let id = UserId::generate();
            // Nobody signs in as it: there is no address to prove.
            let user = NewUser {
                id: &id,
                email: &seed_email,
                role: Role::User,
                created_at: now(),
                password_hash: &hash,
                email_verified: true,
                verification: None,
            };
            store.insert_user(&user).await.context("cannot create the seed user")?;
            id
        }
    };
    let already = store.count_seeded_movies().await?;
    // Movie i is created `i` milliseconds after `oldest`; the newest lands just before now.
    let oldest = now() - chrono::Duration::milliseconds(i64::try_from(already + count)? + 1000);
    let started = Instant::now();
    let mut done = 0;
    while done < count {
        let size = BATCH.min(count - done);
        let first = already + done + 1;
        let batch = SeedBatch { owner_id: owner_id.clone(), first, last: first + size - 1, oldest };
        store.seed_movies(&batch).await?;
        done += size;
        progress(done, count);
    }
    store.refresh_statistics().await?;
    let posters = seed_posters(store, already + count.saturating_sub(SEED_POSTERS) + 1, already + count).await?;
    tracing::info!(count, posters, seconds = started.elapsed().as_secs_f64(), "seeded movies");
    Ok(())
}

/// Gives synthetic movies `first ..= last` a title card drawn from their name, through the
/// same encoding and the same store write as an upload; how many it gave.
async fn seed_posters(store: &DynStore, first: u64, last: u64) -> anyhow::Result<u64> {
    let mut given = 0;
    for number in first..=last {
        let Some(movie_id) = MovieId::parse(&format!("{SEED_ID_PREFIX}{number:012x}")) else { continue };
        let Some(movie) = store.movie(&movie_id).await? else { continue };
        let name = movie.name.clone();
        let renditions = tokio::task::spawn_blocking(move || title_card::renditions(&name)).await??;
        let (poster, images) = crate::service::posters::poster_of(&movie_id, renditions);
        let write = PosterWrite { poster_json: serde_json::to_string(&poster)?, images, at: now() };
        if let GuardedWrite::Done(_) = store.set_poster(&movie_id, &write, &MovieGuard::default()).await? {
            given += 1;
        }
    }
    Ok(given)
}
