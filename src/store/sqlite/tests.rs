//! Every statement the SQLite store runs, prepared against a freshly migrated database: a
//! statement that names a missing table or column, or does not parse, fails here before any
//! integration test runs.

use rusqlite::Connection;

use super::movies::{NameMatch, listing_sql};
use super::{import, mail, migrate, movies, posters, seed, sessions};
use crate::domain::{MovieId, UserId};
use crate::store::records::{MovieCursor, MovieQuery};
use crate::store::sql;

fn migrated() -> Connection {
    let mut connection = Connection::open_in_memory().expect("an in-memory database");
    migrate::run(&mut connection).expect("the migrations apply");
    connection
}

/// Every shape a listing's SQL takes: each filter on or off, each way of matching a name.
pub(crate) fn listing_queries() -> Vec<MovieQuery> {
    let mut queries = Vec::new();
    for genre in [None, Some("drama".to_owned())] {
        for cast in [None, Some("al pacino".to_owned())] {
            for name_contains in [None, Some("he".to_owned()), Some("heat".to_owned())] {
                for added_by in [None, Some(UserId::generate())] {
                    for after in [None, Some(MovieCursor { created_at: crate::domain::now(), id: MovieId::generate() })]
                    {
                        queries.push(MovieQuery {
                            limit: 10,
                            after,
                            genre: genre.clone(),
                            cast: cast.clone(),
                            name_contains: name_contains.clone(),
                            added_by: added_by.clone(),
                        });
                    }
                }
            }
        }
    }
    queries
}

#[test]
fn every_statement_prepares_against_the_migrated_schema() {
    let db = migrated();
    let own = [
        import::STATEMENTS,
        mail::STATEMENTS,
        movies::STATEMENTS,
        posters::STATEMENTS,
        seed::STATEMENTS,
        sessions::STATEMENTS,
    ];
    let statements: Vec<_> = sql::all().chain(own.into_iter().flatten().copied()).collect();
    assert!(statements.len() > 40, "only {} statements found", statements.len());
    for statement in statements {
        if let Err(error) = db.prepare(statement.sqlite()) {
            panic!("{error}\n in: {}", statement.sqlite());
        }
    }
    assert!(import::import_movies_sql(3).contains("VALUES (?, ?, ?, ?, ?, ?, ?), (?"));
    db.prepare(&import::import_movies_sql(3)).expect("the import statement prepares");
}

#[test]
fn every_shape_of_the_listing_prepares_against_the_migrated_schema() {
    let db = migrated();
    for query in listing_queries() {
        for name_match in [NameMatch::Any, NameMatch::Scan, NameMatch::Window(5000), NameMatch::Trigram] {
            let built = listing_sql(&query, name_match);
            if let Err(error) = db.prepare(&built.text) {
                panic!("{error}\n in: {}", built.text);
            }
        }
    }
}
