//! Every statement the PostgreSQL store runs, prepared against a freshly migrated database of
//! its own (`MOVIEBAG_TEST_POSTGRES_URL`; skipped with a printed reason without it, failed with
//! `MOVIEBAG_REQUIRE_POSTGRES=1`).

use sqlx::{Connection, Executor, PgConnection, SqlSafeStr as _};

use super::{
    MIGRATOR, access_tokens, import, library, library_writes, limits, mail, movie_updates, movies, posters, seed,
    sessions, users,
};
use crate::store::sql;
use crate::store::statement::Sql;

async fn prepare_all_in_a_fresh_database(url: &str) {
    let name = format!("moviebag_test_statements_{}", uuid::Uuid::now_v7().simple());
    let mut admin = PgConnection::connect(url).await.expect("PostgreSQL answers");
    admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.expect("a scratch database");
    let mut options: sqlx::postgres::PgConnectOptions = url.parse().expect("a PostgreSQL URL");
    options = options.database(&name);
    let outcome = async {
        let mut db = PgConnection::connect_with(&options).await.expect("the scratch database answers");
        MIGRATOR.run(&mut db).await.expect("the migrations apply");
        let own = [
            access_tokens::STATEMENTS,
            import::STATEMENTS,
            library::STATEMENTS,
            library_writes::STATEMENTS,
            movie_updates::STATEMENTS,
            mail::STATEMENTS,
            movies::STATEMENTS,
            posters::STATEMENTS,
            seed::STATEMENTS,
            sessions::STATEMENTS,
            users::STATEMENTS,
        ];
        let mut statements: Vec<&Sql> = sql::all().chain(own.into_iter().flatten().copied()).collect();
        statements.push(&limits::RESERVE_LOGIN);
        assert!(statements.len() > 40, "only {} statements found", statements.len());
        for statement in statements {
            if let Err(error) = db.prepare(statement.postgres().into_sql_str()).await {
                panic!("{error}\n in: {}", statement.postgres());
            }
        }
        for query in crate::store::sqlite::tests::listing_queries() {
            let text = movies::listing_sql(&query).text;
            if let Err(error) = db.prepare(sqlx::AssertSqlSafe(text.clone()).into_sql_str()).await {
                panic!("{error}\n in: {text}");
            }
        }
        for filters in crate::store::sqlite::tests::listing_filters() {
            let text = movies::count_sql(&filters).text;
            if let Err(error) = db.prepare(sqlx::AssertSqlSafe(text.clone()).into_sql_str()).await {
                panic!("{error}\n in: {text}");
            }
        }
        db.close().await.ok();
    };
    outcome.await;
    admin
        .execute(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
        .await
        .expect("the scratch database goes");
}

#[tokio::test]
async fn every_statement_prepares_against_the_migrated_schema() {
    let Ok(url) = std::env::var("MOVIEBAG_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("MOVIEBAG_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "MOVIEBAG_REQUIRE_POSTGRES=1 but MOVIEBAG_TEST_POSTGRES_URL is not set"
        );
        eprintln!("skipped: set MOVIEBAG_TEST_POSTGRES_URL to prepare the PostgreSQL statements");
        return;
    };
    prepare_all_in_a_fresh_database(&url).await;
}
